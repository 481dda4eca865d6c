import { connect, createServer } from "node:net";

/**
 * Asks the kernel for a TCP port that is free on 127.0.0.1 right now. Another process may take it
 * before the caller binds it, so prefer listening on port 0 directly where the server allows it.
 */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: "127.0.0.1", port: 0, exclusive: true }, () => resolve());
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") {
    throw new Error(`unexpected listening address: ${String(address)}`);
  }
  return address.port;
}

/** Resolves true when a TCP connection to 127.0.0.1:port succeeds, false otherwise. */
export async function portAcceptsConnections(port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    const finish = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.once("connect", () => finish(true));
    socket.once("error", () => finish(false));
  });
}
