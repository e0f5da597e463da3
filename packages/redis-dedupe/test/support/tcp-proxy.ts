// A loopback TCP proxy in front of Redis that a test can cut and restore, to make Redis
// unreachable for one client without touching the shared server.
import * as net from 'node:net';

export interface TcpProxy {
  readonly port: number;
  /** Drops every connection and refuses new ones until `restore`. */
  cut(): Promise<void>;
  /** Accepts connections again on the same port. */
  restore(): Promise<void>;
  /** Keeps connections open but forwards no request: Redis looks alive and never answers. */
  stall(): void;
  /** Forwards requests again (those sent while stalled are lost). */
  resume(): void;
  /** Forwards requests but drops Redis's replies (until `restore`): commands run, answers vanish. */
  dropReplies(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  let stalled = false;
  let repliesDropped = false;
  let server = createServer();
  let port = 0;

  function createServer() {
    return net.createServer((client) => {
      sockets.add(client);
      client.on('close', () => sockets.delete(client));
      client.on('error', () => undefined);
      const upstream = net.connect(target.port, target.host);
      sockets.add(upstream);
      upstream.on('close', () => {
        sockets.delete(upstream);
        client.destroy();
      });
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
      // While stalled, requests are swallowed: the connection stays open and never answers.
      client.on('data', (chunk) => {
        if (!stalled) upstream.write(chunk);
      });
      upstream.on('data', (chunk) => {
        if (!repliesDropped) client.write(chunk);
      });
    });
  }

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        port = (server.address() as net.AddressInfo).port;
        resolve();
      });
    });
  const stop = () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      sockets.clear();
      server.close(() => resolve());
    });

  await listen();
  return {
    get port() {
      return port;
    },
    cut: stop,
    async restore() {
      stalled = false;
      repliesDropped = false;
      server = createServer();
      await listen();
    },
    stall() {
      stalled = true;
    },
    resume() {
      stalled = false;
    },
    dropReplies() {
      repliesDropped = true;
    },
    close: stop,
  };
}
