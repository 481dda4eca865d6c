import { Duplex } from "node:stream";

/** Bun's TLS options for a WebSocket client, e.g. a CA to trust. */
export interface WebSocketTls {
  ca?: string;
  rejectUnauthorized: boolean;
}

/**
 * Opens a WebSocket whose URL is made asynchronously, as a byte stream for an MQTT client. MQTT.js
 * asks for its stream synchronously, so writes wait until the URL is presigned and the socket is
 * open. The socket is the runtime's native WebSocket.
 */
export function presignedWebSocketStream(makeUrl: () => Promise<string>, protocols: string[], tls: WebSocketTls, label: string): Duplex {
  let socket: WebSocket | undefined;
  let queued: { chunk: Buffer; callback: (error?: Error | null) => void }[] = [];

  const stream = new Duplex({
    read() {},
    write(chunk: Buffer, _encoding, callback) {
      if (socket?.readyState === WebSocket.OPEN) {
        socket.send(chunk);
        callback();
      } else {
        queued.push({ chunk, callback });
      }
    },
    final(callback) {
      socket?.close();
      callback();
    },
    destroy(error, callback) {
      socket?.close();
      for (const entry of queued) entry.callback(error ?? new Error(`WebSocket to ${label} closed`));
      queued = [];
      callback(error);
    },
  });

  makeUrl().then(
    (url) => {
      if (stream.destroyed) return;
      // Bun's WebSocket takes an options object with `protocols` and `tls` as its second argument.
      const options = { protocols, tls } as unknown as string[];
      const opened = new WebSocket(url, options);
      opened.binaryType = "arraybuffer";
      socket = opened;
      opened.addEventListener("open", () => {
        for (const entry of queued) {
          opened.send(entry.chunk);
          entry.callback();
        }
        queued = [];
      });
      opened.addEventListener("message", (event) => {
        const data = event.data;
        stream.push(typeof data === "string" ? Buffer.from(data) : Buffer.from(data as ArrayBuffer));
      });
      opened.addEventListener("error", (event) => {
        const message = (event as ErrorEvent).message || "connection failed";
        stream.destroy(new Error(`WebSocket to ${label} failed: ${message}`));
      });
      opened.addEventListener("close", (event) => {
        if (stream.destroyed) return;
        if (event.code === 1000) stream.push(null);
        else stream.destroy(new Error(`WebSocket to ${label} closed (code ${event.code}${event.reason ? `, ${event.reason}` : ""})`));
      });
    },
    (error: unknown) => stream.destroy(new Error(`Cannot presign the WebSocket URL for ${label}: ${error instanceof Error ? error.message : String(error)}`)),
  );
  return stream;
}
