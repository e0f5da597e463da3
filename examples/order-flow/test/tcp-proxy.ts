// A TCP proxy the test controls, to take a service away from one process only (the machine's
// services are shared, so the tests never stop them): while down it hangs up on every
// connection, and cut() drops the connections it carries, as a server restart would.
import * as net from 'node:net';

export interface TcpProxy {
  /** The proxy's port on 127.0.0.1. */
  readonly port: number;
  /** Forwards new connections to the target. */
  up(): void;
  /** Hangs up on new connections and drops the open ones. */
  down(): void;
  /** Drops the open connections; new ones are still forwarded (if up). */
  cut(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  let forwarding = false;
  const open = new Set<net.Socket>();
  const server = net.createServer((client) => {
    if (!forwarding) return void client.destroy();
    const upstream = net.connect(target.port, target.host);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    for (const socket of [client, upstream]) {
      open.add(socket);
      socket.on('error', drop);
      socket.on('close', drop);
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const cut = () => {
    for (const socket of open) socket.destroy();
    open.clear();
  };
  return {
    port: (server.address() as net.AddressInfo).port,
    up: () => {
      forwarding = true;
    },
    down: () => {
      forwarding = false;
      cut();
    },
    cut,
    close: () => {
      cut();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** `url` with its host and port replaced by the proxy's. */
export function viaProxy(url: string, proxy: TcpProxy): string {
  const parsed = new URL(url);
  parsed.hostname = '127.0.0.1';
  parsed.port = String(proxy.port);
  return parsed.toString();
}
