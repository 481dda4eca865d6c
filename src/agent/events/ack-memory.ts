import type { Clock } from "../../clock.ts";
import type { Logger } from "../../logger.ts";
import type { Ack, EchoedId } from "../../protocol/acks.ts";
import { stateFile } from "../state-dir.ts";
import { readStateJson, writeStateJson } from "./json-file.ts";

export const ACK_MEMORY_FILE = "acks.json";
/** Acks kept at most, however short the window. */
const MAX_ENTRIES = 1000;

interface StoredAck {
  /** The correlationId as JSON text, so the string "7" and the number 7 stay apart. */
  key: string;
  atMs: number;
  ack: Ack;
}

interface AckMemoryFile {
  version: 1;
  entries: StoredAck[];
}

function isAckMemoryFile(value: unknown): value is AckMemoryFile {
  const file = value as AckMemoryFile;
  return (
    typeof value === "object" &&
    value !== null &&
    file.version === 1 &&
    Array.isArray(file.entries) &&
    file.entries.every((entry) => typeof entry?.key === "string" && typeof entry.atMs === "number" && typeof entry.ack === "object" && entry.ack !== null)
  );
}

/**
 * The acks sent for recent correlationIds, kept in the state directory, so a command repeated
 * within the window gets the same ack again without being carried out twice, also across a restart.
 * Without a state directory they are kept in memory only and forgotten at exit.
 */
export class AckMemory {
  private entries: StoredAck[];
  private readonly path: string | undefined;

  constructor(
    stateDir: string | undefined,
    private readonly windowMs: number,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {
    this.path = stateDir === undefined ? undefined : stateFile(stateDir, ACK_MEMORY_FILE);
    const file = this.path === undefined ? undefined : readStateJson(this.path, clock.now(), log, isAckMemoryFile);
    this.entries = file?.entries ?? [];
    this.prune();
  }

  /** Returns the ack sent for this correlationId within the window, if any. */
  lookup(correlationId: EchoedId): Ack | undefined {
    this.prune();
    const key = JSON.stringify(correlationId);
    return this.entries.find((entry) => entry.key === key)?.ack;
  }

  /** Stores the ack for this correlationId and writes the file. */
  remember(correlationId: EchoedId, ack: Ack): void {
    const key = JSON.stringify(correlationId);
    this.entries = this.entries.filter((entry) => entry.key !== key);
    this.entries.push({ key, atMs: this.clock.now(), ack });
    this.prune();
    if (this.path !== undefined) writeStateJson(this.path, { version: 1, entries: this.entries } satisfies AckMemoryFile, this.log);
  }

  private prune(): void {
    const oldest = this.clock.now() - this.windowMs;
    this.entries = this.entries.filter((entry) => entry.atMs >= oldest);
    if (this.entries.length > MAX_ENTRIES) this.entries = this.entries.slice(-MAX_ENTRIES);
  }
}
