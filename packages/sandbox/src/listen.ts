import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Serve on a free loopback port, Nagle off (each answer is one small write that must leave at once),
 * and resolve with the base URL.
 */
export async function listenOnLoopback(server: Server, keepAliveTimeoutMs = 30_000): Promise<string> {
  server.on('connection', (socket) => socket.setNoDelay(true));
  server.keepAliveTimeout = keepAliveTimeoutMs;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
