/**
 * A WebSocket whose URL is made asynchronously, for MQTT.js's `createWebsocket` hook, which must
 * return a socket at once. MQTT.js builds a new client for every connection attempt, so each
 * attempt presigns a fresh URL with the credentials of that moment.
 *
 * It implements the part of the WebSocket interface that MQTT.js's native WebSocket transport
 * uses (MQTT.js 5: readyState, binaryType, send, close, bufferedAmount and the open, message,
 * close and error events) and forwards it to the runtime's own WebSocket once the URL is known.
 */
export class PresignedWebSocket extends EventTarget {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  readonly CONNECTING = 0;
  readonly OPEN = 1;
  readonly CLOSING = 2;
  readonly CLOSED = 3;
  binaryType: "arraybuffer" | "blob" | "nodebuffer" = "arraybuffer";
  private socket: WebSocket | undefined;
  private closedEarly = false;

  /**
   * @param makeUrl returns the presigned `wss://` URL; a rejection surfaces as an `error` event.
   * @param tls Bun's TLS options for the WebSocket client, e.g. a CA to trust.
   */
  constructor(makeUrl: () => Promise<string>, protocols: string[], tls: Record<string, unknown> | undefined) {
    super();
    makeUrl().then(
      (url) => {
        if (this.closedEarly) return;
        // Bun's WebSocket takes an options object with `protocols` and `tls` as its second argument.
        const options = { protocols, ...(tls ? { tls } : {}) } as unknown as string[];
        const socket = new WebSocket(url, options);
        socket.binaryType = this.binaryType as never;
        this.socket = socket;
        for (const type of ["open", "message", "close", "error"]) {
          socket.addEventListener(type, (event) => this.forward(type, event));
        }
      },
      (error: unknown) => {
        this.dispatchEvent(Object.assign(new Event("error"), { error }));
        this.dispatchEvent(new CloseEvent("close", { code: 1006, reason: error instanceof Error ? error.message : String(error) }));
      },
    );
  }

  get readyState(): number {
    if (this.socket) return this.socket.readyState;
    return this.closedEarly ? this.CLOSED : this.CONNECTING;
  }

  get bufferedAmount(): number {
    return this.socket?.bufferedAmount ?? 0;
  }

  send(data: string | ArrayBufferLike | ArrayBufferView): void {
    if (!this.socket) throw new Error("WebSocket is not open yet");
    this.socket.send(data as never);
  }

  close(code?: number, reason?: string): void {
    if (this.socket) this.socket.close(code, reason);
    else this.closedEarly = true;
  }

  private forward(type: string, event: Event): void {
    let copy: Event;
    if (type === "message") copy = new MessageEvent("message", { data: (event as MessageEvent).data });
    else if (type === "close") copy = new CloseEvent("close", { code: (event as CloseEvent).code, reason: (event as CloseEvent).reason });
    else copy = Object.assign(new Event(type), { error: (event as ErrorEvent).error, message: (event as ErrorEvent).message });
    this.dispatchEvent(copy);
  }
}
