// Free loopback ports for tests: ask the kernel for one, then release it.
import { createServer, type Server } from 'node:net';

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') return reject(new Error('no port'));
      server.close(() => resolve(address.port));
    });
  });
}

export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const ports = new Set<number>();
  for (let attempts = 0; ports.size < count && attempts < count * 20; attempts++) ports.add(await freePort(host));
  if (ports.size < count) throw new Error(`could not find ${count} free ports`);
  return [...ports];
}

function listen(port: number, host: string): Promise<Server | null> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(null));
    server.listen(port, host, () => resolve(server));
  });
}

/** A port P with P … P + length − 1 all free (each bound once to check, then released): for a command that numbers its ports from a base. */
export async function consecutiveFreePorts(length: number, host = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = await freePort(host);
    if (base + length - 1 > 65_000) continue;
    const held = await Promise.all(Array.from({ length }, (_, i) => listen(base + i, host)));
    await Promise.all(held.map((s) => (s === null ? undefined : new Promise((r) => s.close(r)))));
    if (held.every((s) => s !== null)) return base;
  }
  throw new Error(`no ${length} consecutive free ports`);
}
