// Free loopback ports for tests: ask the kernel for one, then release it.
import { createServer } from 'node:net';

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
