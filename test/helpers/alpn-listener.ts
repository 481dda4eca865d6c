import { createServer, type Server, type TLSSocket } from "node:tls";
import type { Aedes } from "aedes";
import type { TestPki } from "./pki.ts";

export interface AlpnListener {
  readonly port: number;
  /** ALPN protocols that clients offered and that were rejected, `false` for none offered. */
  readonly rejected: (string | false)[];
  close(): Promise<void>;
}

/**
 * A TLS listener in front of an in-process aedes broker that, like AWS IoT Core on port 443,
 * accepts MQTT with a client certificate only when the handshake selected `protocol` by ALPN.
 * Listens on 127.0.0.1:`port`.
 */
export async function startAlpnListener(broker: Aedes, pki: TestPki, port: number, protocol: string): Promise<AlpnListener> {
  const rejected: (string | false)[] = [];
  const server: Server = createServer(
    { key: pki.pem.serverKey, cert: pki.pem.serverCert, ca: pki.pem.caCert, requestCert: true, rejectUnauthorized: true, ALPNProtocols: [protocol] },
    (socket: TLSSocket) => {
      if (socket.alpnProtocol !== protocol) {
        rejected.push(socket.alpnProtocol ?? false);
        socket.destroy();
        return;
      }
      broker.handle(socket);
    },
  );
  const sockets = new Set<TLSSocket>();
  server.on("secureConnection", (socket: TLSSocket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: "127.0.0.1", port }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return {
    port,
    rejected,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
