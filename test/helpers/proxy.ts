import { connect, createServer, type Server, type Socket } from "node:net";

const HOST = "127.0.0.1";

/**
 * How the proxy treats connections:
 * - `pass` forwards bytes both ways.
 * - `blackhole` keeps every socket open, reads and discards what arrives and forwards nothing, so
 *   both ends see a half-open link that only their keep-alive can detect.
 * - `reset` destroys every client socket with a TCP RST and resets new ones as soon as they arrive.
 */
export type ProxyMode = "pass" | "blackhole" | "reset";

export interface StartProxyOptions {
  /** Port of the server behind the proxy, on 127.0.0.1. */
  targetPort: number;
  /** Only "127.0.0.1" is accepted: the test helpers never connect anywhere else. */
  targetHost?: string;
  /** Initial mode. Default "pass". */
  mode?: ProxyMode;
}

export interface TcpProxy {
  readonly host: string;
  /** The proxy's own listening port. */
  readonly port: number;
  readonly targetPort: number;
  readonly mode: ProxyMode;
  /** Client connections accepted since the start, including those reset at once in `reset` mode. */
  readonly connections: number;
  /** Client connections open right now. */
  readonly active: number;
  /** `PROTOCOL://127.0.0.1:PORT` for the proxy, for example `mqtt://127.0.0.1:40123`. */
  url(protocol?: string): string;
  /**
   * Switches the mode for new and open connections. A connection that has been in `blackhole`
   * stays there after a switch back to `pass`, because bytes were dropped from its stream. Only
   * new connections are forwarded again.
   */
  setMode(mode: ProxyMode): void;
  /** Closes every open connection once, both towards the client and the target, and keeps the mode. */
  dropAll(teardown?: "close" | "reset"): void;
  /** Resolves once `connections` has reached `count`, and rejects when `timeoutMs` passes first. */
  waitForConnections(count: number, timeoutMs?: number): Promise<void>;
  /** Destroys every connection and stops listening. Safe to call twice. */
  close(): Promise<void>;
}

/** One client connection and, outside `blackhole` and `reset`, its connection to the target. */
class ProxiedConnection {
  upstream: Socket | undefined;
  blackholed = false;

  constructor(readonly client: Socket) {}

  /** Starts forwarding. Bytes that arrive before the target connection is up wait in the upstream socket's buffer. */
  forward(targetHost: string, targetPort: number): void {
    const upstream = connect({ host: targetHost, port: targetPort });
    this.upstream = upstream;
    upstream.on("error", () => {
      // A refused or broken target connection ends the client connection in the 'close' handler.
    });
    upstream.on("close", () => {
      if (!this.blackholed) this.destroy("close");
    });
    this.client.pipe(upstream);
    upstream.pipe(this.client);
  }

  /** Stops forwarding in both directions and reads and discards whatever either side sends. */
  blackhole(): void {
    if (this.blackholed) return;
    this.blackholed = true;
    this.client.unpipe();
    this.upstream?.unpipe();
    this.client.on("data", discard);
    this.upstream?.on("data", discard);
    this.client.resume();
    this.upstream?.resume();
  }

  destroy(teardown: "close" | "reset"): void {
    this.upstream?.destroy();
    if (teardown === "reset" && !this.client.destroyed) this.client.resetAndDestroy();
    else this.client.destroy();
  }
}

function discard(): void {}

/**
 * Starts a TCP proxy on 127.0.0.1 with an ephemeral port in front of 127.0.0.1:`targetPort`,
 * with modes that a test switches at run time to simulate network faults.
 */
export async function startProxy(options: StartProxyOptions): Promise<TcpProxy> {
  const targetHost = options.targetHost ?? HOST;
  if (targetHost !== HOST) throw new Error(`invalid proxy target host ${targetHost}: only ${HOST} is allowed in tests`);
  const targetPort = options.targetPort;
  let mode: ProxyMode = options.mode ?? "pass";
  let connections = 0;
  let closed = false;
  const open = new Set<ProxiedConnection>();
  const connectionWaiters = new Set<() => void>();

  const server: Server = createServer((client) => {
    connections += 1;
    for (const waiter of connectionWaiters) waiter();
    client.on("error", () => {
      // ECONNRESET and EPIPE from clients are expected here; 'close' follows and cleans up.
    });
    if (mode === "reset" || closed) {
      client.resetAndDestroy();
      return;
    }
    const connection = new ProxiedConnection(client);
    open.add(connection);
    client.on("close", () => {
      open.delete(connection);
      connection.upstream?.destroy();
    });
    if (mode === "blackhole") connection.blackhole();
    else connection.forward(targetHost, targetPort);
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: HOST, port: 0 }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("proxy listener has no TCP address");
  const port = address.port;

  const destroyAll = (teardown: "close" | "reset") => {
    for (const connection of [...open]) connection.destroy(teardown);
  };

  return {
    host: HOST,
    port,
    targetPort,
    get mode() {
      return mode;
    },
    get connections() {
      return connections;
    },
    get active() {
      return open.size;
    },
    url(protocol = "mqtt") {
      return `${protocol}://${HOST}:${port}`;
    },
    setMode(next) {
      mode = next;
      if (next === "blackhole") for (const connection of open) connection.blackhole();
      if (next === "reset") destroyAll("reset");
    },
    dropAll(teardown = "close") {
      destroyAll(teardown);
    },
    waitForConnections(count, timeoutMs = 5000) {
      if (connections >= count) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const waiter = () => {
          if (connections < count) return;
          clearTimeout(timer);
          connectionWaiters.delete(waiter);
          resolve();
        };
        const timer = setTimeout(() => {
          connectionWaiters.delete(waiter);
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${count} proxy connections; ${connections} accepted`));
        }, timeoutMs);
        connectionWaiters.add(waiter);
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      destroyAll("close");
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
