// "host:port" as members' addresses are written in conf changes and snapshot metadata.
// The port is after the last colon, so a host with colons (a node bound to "::") still
// parses and never breaks a snapshot. A URL needs an IPv6 literal in brackets:
// build one with urlAuthority (peer streams dial with node:http's host option, which
// takes the literal as it is).
import { isIPv6 } from 'node:net';

export interface HostPort { readonly host: string; readonly port: number }

export function parseHostPort(address: string): HostPort | null {
  const at = address.lastIndexOf(':');
  if (at <= 0 || at > 253) return null;
  const host = address.slice(0, at);
  const digits = address.slice(at + 1);
  if (/\s/.test(host) || !/^\d{1,5}$/.test(digits)) return null;
  const port = Number(digits);
  return port >= 1 && port <= 65535 ? { host, port } : null;
}

/** The `host:port` of a URL: an IPv6 literal in brackets (`[::1]:8080`), any other host as it is. */
export function urlAuthority(host: string, port: number): string {
  return `${isIPv6(host) ? `[${host}]` : host}:${port}`;
}
