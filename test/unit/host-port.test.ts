// Members' "host:port" addresses (port after the last colon) and the URL authority
// built from a host and port: an IPv6 literal must be bracketed to make a valid URL.
import { describe, expect, it } from 'vitest';
import { parseHostPort, urlAuthority } from '../../raft/host-port.js';

describe('urlAuthority', () => {
  it('brackets IPv6 literals and leaves names, IPv4 and bracketed hosts alone', () => {
    expect(urlAuthority('::1', 8080)).toBe('[::1]:8080');
    expect(urlAuthority('::', 1)).toBe('[::]:1');
    expect(urlAuthority('2001:db8::7', 443)).toBe('[2001:db8::7]:443');
    expect(urlAuthority('::ffff:10.0.0.1', 9000)).toBe('[::ffff:10.0.0.1]:9000');
    expect(urlAuthority('127.0.0.1', 8081)).toBe('127.0.0.1:8081');
    expect(urlAuthority('node-1.example.com', 8081)).toBe('node-1.example.com:8081');
    expect(urlAuthority('[::1]', 8080)).toBe('[::1]:8080');
  });

  it('makes URLs that parse to the same host and port, also from a parsed member address', () => {
    for (const address of ['::1:8080', '2001:db8::7:8443', '10.1.2.3:9000', 'node-1:8081']) {
      const { host, port } = parseHostPort(address)!;
      const url = new URL(`https://${urlAuthority(host, port)}/api/status`);
      expect(url.hostname.replace(/^\[|\]$/g, '')).toBe(host);
      expect(url.port).toBe(String(port));
    }
    expect(() => new URL(`http://${'::1'}:${8080}/`)).toThrow(); // what an unbracketed literal gives
  });
});
