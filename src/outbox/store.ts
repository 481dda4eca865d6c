import { closeSync, existsSync, fstatSync, fsyncSync, openSync, readSync, renameSync, writeSync } from "node:fs";
import type { Logger } from "../logger.ts";
import { writeFileAtomic } from "../agent/state-dir.ts";

/** Telemetry for the backend topic, or an acknowledgement; acks are kept longer when space runs out. */
export type OutboxKind = "telemetry" | "ack";

export interface OutboxEntry {
  id: number;
  kind: OutboxKind;
  topic: string;
  /** Milliseconds since the epoch when the message was made. */
  createdAt: number;
  /** Bytes of the payload in UTF-8. */
  size: number;
}

export interface OutboxLimits {
  /** Maximum number of messages kept; beyond it the oldest telemetry goes first. */
  maxMessages: number;
  /** Maximum payload bytes kept. */
  maxBytes: number;
  /** Telemetry older than this is dropped. */
  telemetryMaxAgeMs: number;
  /** Acks older than this are dropped. */
  ackMaxAgeMs: number;
}

/** Seven days of telemetry at the default 5 s interval, with room for acks. */
export const DEFAULT_OUTBOX_LIMITS: OutboxLimits = {
  maxMessages: 150_000,
  maxBytes: 256 * 1024 * 1024,
  telemetryMaxAgeMs: 7 * 24 * 3600 * 1000,
  ackMaxAgeMs: 28 * 24 * 3600 * 1000,
};

/** Messages dropped to respect the limits, by kind, for one log line. */
export interface DropReport {
  telemetry: number;
  ack: number;
  reason: "full" | "expired";
}

/**
 * Where messages wait until the broker acknowledges them. `append` returns once the message is
 * stored; `remove` deletes it after its PUBACK.
 */
export interface OutboxStore {
  append(kind: OutboxKind, topic: string, payload: string, createdAt: number): OutboxEntry;
  payloadOf(entry: OutboxEntry): string;
  remove(id: number): void;
  has(id: number): boolean;
  get(id: number): OutboxEntry | undefined;
  /** Entries oldest first. */
  entries(): IterableIterator<OutboxEntry>;
  readonly depth: number;
  readonly bytes: number;
  readonly oldest: OutboxEntry | undefined;
  /** Drops what is over the limits, oldest telemetry first; returns what was dropped. */
  enforceLimits(now: number): DropReport[];
  close(): void;
}

abstract class BaseStore implements OutboxStore {
  protected readonly index = new Map<number, OutboxEntry>();
  protected nextId = 1;
  protected totalBytes = 0;

  constructor(protected readonly limits: OutboxLimits) {}

  abstract append(kind: OutboxKind, topic: string, payload: string, createdAt: number): OutboxEntry;
  abstract payloadOf(entry: OutboxEntry): string;
  protected abstract forget(id: number): void;
  abstract close(): void;

  remove(id: number): void {
    if (this.unindex(id)) this.forget(id);
  }

  /** Removes an entry from the index only; returns whether it was there. */
  protected unindex(id: number): boolean {
    const entry = this.index.get(id);
    if (!entry) return false;
    this.index.delete(id);
    this.totalBytes -= entry.size;
    return true;
  }

  has(id: number): boolean {
    return this.index.has(id);
  }

  get(id: number): OutboxEntry | undefined {
    return this.index.get(id);
  }

  entries(): IterableIterator<OutboxEntry> {
    // A Map iterates in insertion order, which is id order.
    return this.index.values();
  }

  get depth(): number {
    return this.index.size;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  get oldest(): OutboxEntry | undefined {
    return this.index.values().next().value;
  }

  enforceLimits(now: number): DropReport[] {
    const reports: DropReport[] = [];
    const expired: DropReport = { telemetry: 0, ack: 0, reason: "expired" };
    for (const entry of [...this.index.values()]) {
      const maxAge = entry.kind === "ack" ? this.limits.ackMaxAgeMs : this.limits.telemetryMaxAgeMs;
      if (now - entry.createdAt > maxAge) {
        this.remove(entry.id);
        expired[entry.kind]++;
      }
    }
    if (expired.telemetry + expired.ack > 0) reports.push(expired);

    const full: DropReport = { telemetry: 0, ack: 0, reason: "full" };
    const over = () => this.index.size > this.limits.maxMessages || this.totalBytes > this.limits.maxBytes;
    for (const kind of ["telemetry", "ack"] as const) {
      for (const entry of [...this.index.values()]) {
        if (!over()) break;
        if (entry.kind !== kind) continue;
        this.remove(entry.id);
        full[kind]++;
      }
    }
    if (full.telemetry + full.ack > 0) reports.push(full);
    return reports;
  }

  protected register(kind: OutboxKind, topic: string, payload: string, createdAt: number, id = this.nextId++): OutboxEntry {
    const entry: OutboxEntry = { id, kind, topic, createdAt, size: Buffer.byteLength(payload) };
    this.index.set(id, entry);
    this.totalBytes += entry.size;
    if (id >= this.nextId) this.nextId = id + 1;
    return entry;
  }
}

/** An outbox in memory only, for simulated VENs and tests: nothing survives the process. */
export class MemoryOutbox extends BaseStore {
  private readonly payloads = new Map<number, string>();

  append(kind: OutboxKind, topic: string, payload: string, createdAt: number): OutboxEntry {
    const entry = this.register(kind, topic, payload, createdAt);
    this.payloads.set(entry.id, payload);
    return entry;
  }

  payloadOf(entry: OutboxEntry): string {
    return this.payloads.get(entry.id) ?? "";
  }

  protected forget(id: number): void {
    this.payloads.delete(id);
  }

  close(): void {
    this.payloads.clear();
  }
}

interface AddRecord {
  op: "add";
  id: number;
  kind: OutboxKind;
  at: number;
  topic: string;
  payload: string;
}

interface FileEntry extends OutboxEntry {
  /** Offset of the record's line in the file, and its length in bytes. */
  offset: number;
  length: number;
}

/**
 * The outbox as an append-only file of JSON lines in the state directory: an `add` line per
 * message, flushed to disk before `append` returns, and a `del` line when the broker has
 * acknowledged it. Only the index is kept in memory; payloads are read back from the file when
 * sent. The file is rewritten without the acknowledged messages when they make up most of it.
 */
export class FileOutbox extends BaseStore {
  private fd: number;
  private fileSize = 0;
  private deletedLines = 0;

  constructor(
    private readonly path: string,
    limits: OutboxLimits,
    private readonly log: Logger,
    private readonly now: () => number,
  ) {
    super(limits);
    this.fd = this.load();
  }

  append(kind: OutboxKind, topic: string, payload: string, createdAt: number): OutboxEntry {
    const id = this.nextId;
    const line = `${JSON.stringify({ op: "add", id, kind, at: createdAt, topic, payload } satisfies AddRecord)}\n`;
    const buffer = Buffer.from(line);
    writeSync(this.fd, buffer);
    fsyncSync(this.fd);
    const entry = this.register(kind, topic, payload, createdAt, id) as FileEntry;
    entry.offset = this.fileSize;
    entry.length = buffer.length;
    this.fileSize += buffer.length;
    return entry;
  }

  payloadOf(entry: OutboxEntry): string {
    const { offset, length } = entry as FileEntry;
    const buffer = Buffer.alloc(length);
    readSync(this.fd, buffer, 0, length, offset);
    return (JSON.parse(buffer.toString("utf8")) as AddRecord).payload;
  }

  protected forget(id: number): void {
    // Not flushed: after a crash the message is sent again, which at-least-once delivery allows.
    const buffer = Buffer.from(`${JSON.stringify({ op: "del", id })}\n`);
    writeSync(this.fd, buffer);
    this.fileSize += buffer.length;
    this.deletedLines++;
    if (this.deletedLines > 1000 && this.deletedLines > this.index.size) this.compact();
  }

  close(): void {
    closeSync(this.fd);
  }

  /** Rewrites the file with only the messages still waiting. */
  compact(): void {
    const lines: string[] = [];
    let offset = 0;
    for (const entry of this.index.values() as IterableIterator<FileEntry>) {
      const line = `${JSON.stringify({ op: "add", id: entry.id, kind: entry.kind, at: entry.createdAt, topic: entry.topic, payload: this.payloadOf(entry) } satisfies AddRecord)}\n`;
      entry.offset = offset;
      entry.length = Buffer.byteLength(line);
      offset += entry.length;
      lines.push(line);
    }
    closeSync(this.fd);
    writeFileAtomic(this.path, lines.join(""));
    this.fd = openSync(this.path, "a+", 0o600);
    this.fileSize = offset;
    this.deletedLines = 0;
  }

  /**
   * Reads the file into the index. A truncated last line (a crash while writing) is dropped. A
   * file with other damage is renamed aside for inspection after the readable messages are
   * recovered, so start-up never stops on it.
   */
  private load(): number {
    if (!existsSync(this.path)) return openSync(this.path, "a+", 0o600);

    let fd = openSync(this.path, "a+", 0o600);
    const size = fstatSync(fd).size;
    const content = Buffer.alloc(size);
    if (size > 0) readSync(fd, content, 0, size, 0);

    let offset = 0;
    let damaged = 0;
    let truncated = false;
    while (offset < size) {
      const end = content.indexOf(0x0a, offset);
      if (end < 0) {
        truncated = true;
        break;
      }
      const lineBytes = content.subarray(offset, end + 1);
      try {
        const record = JSON.parse(lineBytes.toString("utf8")) as Record<string, unknown>;
        if (record.op === "add" && typeof record.id === "number" && typeof record.payload === "string" && typeof record.topic === "string") {
          const kind: OutboxKind = record.kind === "ack" ? "ack" : "telemetry";
          const entry = this.register(kind, record.topic, record.payload, Number(record.at) || this.now(), record.id) as FileEntry;
          entry.offset = offset;
          entry.length = lineBytes.length;
        } else if (record.op === "del" && typeof record.id === "number") {
          this.unindex(record.id);
          this.deletedLines++;
        } else {
          damaged++;
        }
      } catch {
        damaged++;
      }
      offset = end + 1;
    }
    this.fileSize = size;

    if (truncated) this.log.warn(`Outbox ${this.path}: dropped a truncated last record (${size - offset} bytes), left by an interrupted write`);
    if (damaged > 0) {
      const aside = `${this.path}.corrupt-${this.now()}`;
      closeSync(fd);
      renameSync(this.path, aside);
      this.log.warn(`Outbox ${this.path} had ${damaged} unreadable line(s): moved it to ${aside} and kept the ${this.index.size} readable message(s)`);
      fd = openSync(aside, "r");
      this.fd = fd;
      const recovered = [...(this.index.values() as IterableIterator<FileEntry>)].map((entry) => ({ entry, payload: this.payloadOf(entry) }));
      closeSync(fd);
      let position = 0;
      const lines = recovered.map(({ entry, payload }) => {
        const line = `${JSON.stringify({ op: "add", id: entry.id, kind: entry.kind, at: entry.createdAt, topic: entry.topic, payload } satisfies AddRecord)}\n`;
        entry.offset = position;
        entry.length = Buffer.byteLength(line);
        position += entry.length;
        return line;
      });
      writeFileAtomic(this.path, lines.join(""));
      this.fileSize = position;
      this.deletedLines = 0;
      return openSync(this.path, "a+", 0o600);
    }
    if (truncated) {
      // Start the next record on a fresh line by rewriting the readable part.
      this.fd = fd;
      this.compact();
      return this.fd;
    }
    return fd;
  }
}
