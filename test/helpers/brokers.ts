import { createServer as createNetServer, type Server, type Socket } from "node:net";
import { createServer as createTlsServer } from "node:tls";
import { Aedes } from "aedes";
import type { TestPki } from "./pki.ts";

const HOST = "127.0.0.1";

export interface RecordedPublish {
  topic: string;
  payload: Buffer;
  retain: boolean;
  qos: number;
  /** Null for messages the broker published itself. */
  clientId: string | null;
  /** Date.now() when the broker saw it. */
  at: number;
}

export interface StartAedesOptions {
  /** Serve MQTT over TLS with the PKI's server certificate, trusting only the PKI's CA. */
  tls?: TestPki | undefined;
  /** Only with `tls`. Default true: clients without a valid certificate are rejected. */
  requireCertificate?: boolean;
}

export interface AedesHandle {
  readonly host: string;
  readonly port: number;
  /** `mqtt://127.0.0.1:PORT`, or `mqtts://` with TLS. */
  readonly url: string;
  /** The current broker; a new instance after `restart()`. */
  readonly broker: Aedes;
  /** Every publish the broker saw, oldest first and kept across restarts. $SYS topics are left out. */
  readonly published: RecordedPublish[];
  /** How many clients connected, across restarts. */
  readonly connects: number;
  /**
   * Resolves with the first recorded publish at index `since` or later that matches, waiting up
   * to `timeoutMs` for one to arrive.
   */
  waitFor(
    predicate: (message: RecordedPublish) => boolean,
    timeoutMs?: number,
    since?: number,
  ): Promise<RecordedPublish>;
  /** Drops all clients and starts a fresh broker on the same port: no sessions, no retained messages. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

interface Waiter {
  predicate: (message: RecordedPublish) => boolean;
  since: number;
  resolve: (message: RecordedPublish) => void;
}

/** Starts an in-process aedes broker on 127.0.0.1 with an ephemeral port. */
export async function startAedes(options: StartAedesOptions = {}): Promise<AedesHandle> {
  const published: RecordedPublish[] = [];
  const waiters = new Set<Waiter>();
  let connects = 0;
  let port = 0;
  let broker: Aedes | undefined;
  let server: Server | undefined;
  const sockets = new Set<Socket>();

  const record = (message: RecordedPublish) => {
    const index = published.length;
    published.push(message);
    for (const waiter of waiters) {
      if (index >= waiter.since && waiter.predicate(message)) {
        waiters.delete(waiter);
        waiter.resolve(message);
      }
    }
  };

  const open = async (listenPort: number) => {
    const fresh = await Aedes.createBroker({ maxClientsIdLength: 128 });
    fresh.on("publish", (packet, client) => {
      if (packet.topic.startsWith("$SYS")) return;
      record({
        topic: packet.topic,
        payload: Buffer.from(packet.payload),
        retain: packet.retain,
        qos: packet.qos,
        clientId: client ? client.id : null,
        at: Date.now(),
      });
    });
    fresh.on("client", () => {
      connects += 1;
    });

    const pki = options.tls;
    const listener = pki
      ? createTlsServer(
          {
            key: pki.pem.serverKey,
            cert: pki.pem.serverCert,
            ca: pki.pem.caCert,
            requestCert: true,
            rejectUnauthorized: options.requireCertificate ?? true,
          },
          fresh.handle,
        )
      : createNetServer(fresh.handle);
    listener.on("connection", (socket: Socket) => {
      sockets.add(socket);
      socket.once("close", () => sockets.delete(socket));
    });

    await new Promise<void>((resolve, reject) => {
      listener.once("error", reject);
      listener.listen({ host: HOST, port: listenPort }, () => {
        listener.off("error", reject);
        resolve();
      });
    });
    const address = listener.address();
    if (address === null || typeof address === "string") throw new Error("aedes listener has no TCP address");
    port = address.port;
    broker = fresh;
    server = listener;
  };

  const shut = async () => {
    const oldBroker = broker;
    const oldServer = server;
    broker = undefined;
    server = undefined;
    if (oldBroker) await new Promise<void>((resolve) => oldBroker.close(() => resolve()));
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    if (oldServer) await new Promise<void>((resolve) => oldServer.close(() => resolve()));
  };

  await open(0);

  return {
    host: HOST,
    get port() {
      return port;
    },
    get url() {
      return `${options.tls ? "mqtts" : "mqtt"}://${HOST}:${port}`;
    },
    get broker() {
      if (!broker) throw new Error("the aedes broker is closed");
      return broker;
    },
    published,
    get connects() {
      return connects;
    },
    waitFor(predicate, timeoutMs = 5000, since = 0) {
      const found = published.slice(since).find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise<RecordedPublish>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          const seen = published.slice(since).map((message) => message.topic);
          reject(new Error(`no matching publish within ${timeoutMs} ms; topics seen: ${JSON.stringify(seen)}`));
        }, timeoutMs);
        const waiter: Waiter = {
          predicate,
          since,
          resolve: (message) => {
            clearTimeout(timer);
            resolve(message);
          },
        };
        waiters.add(waiter);
      });
    },
    async restart() {
      const samePort = port;
      await shut();
      await open(samePort);
    },
    close: shut,
  };
}
