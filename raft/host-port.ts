// "host:port" as members' addresses are written (config peers, conf changes, snapshot
// metadata). The port is after the last colon, so IPv6 literals ("::", "fd00::1") work.

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
