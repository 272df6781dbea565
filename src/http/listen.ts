import type { AddressInfo, Server } from 'node:net';

/** Starts `server` listening; rejects with the listen error (e.g. EADDRINUSE) instead of emitting it. */
export function listenOn(server: Server, port: number, host: string | undefined): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}
