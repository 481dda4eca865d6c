import type { OutputStream } from "../cli/io.ts";

/** Flush at once beyond this many buffered bytes. */
const MAX_BUFFERED_BYTES = 64 * 1024;

/**
 * Collects output lines and writes them in one call per turn of the event loop, so a burst of
 * messages costs one write to stdout instead of one per message.
 */
export class LineBatcher {
  private parts: string[] = [];
  private bytes = 0;
  private scheduled = false;

  constructor(private readonly out: OutputStream) {}

  write(text: string): void {
    this.parts.push(text);
    this.bytes += text.length;
    if (this.bytes >= MAX_BUFFERED_BYTES) {
      this.flush();
    } else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Writes everything buffered now. */
  flush(): void {
    this.scheduled = false;
    if (this.parts.length === 0) return;
    const text = this.parts.length === 1 ? this.parts[0]! : this.parts.join("");
    this.parts = [];
    this.bytes = 0;
    this.out.write(text);
  }
}
