import { appendFileSync } from "node:fs";
import { stateFile } from "../agent/state-dir.ts";
import type { DeadLetterSink } from "./sender.ts";

export const DEAD_LETTER_FILE = "dead-letter.jsonl";

/** Appends set-aside messages to `dead-letter.jsonl` in the state directory, one JSON object per line. */
export class FileDeadLetter implements DeadLetterSink {
  private readonly path: string;

  constructor(stateDir: string) {
    this.path = stateFile(stateDir, DEAD_LETTER_FILE);
  }

  write(record: { at: number; reason: string; kind: string; topic: string; payload: string }): void {
    appendFileSync(this.path, `${JSON.stringify({ ...record, at: new Date(record.at).toISOString() })}\n`, { mode: 0o600 });
  }
}

/** Keeps set-aside messages in memory, for simulated VENs and tests. */
export class MemoryDeadLetter implements DeadLetterSink {
  readonly records: { at: number; reason: string; kind: string; topic: string; payload: string }[] = [];

  write(record: { at: number; reason: string; kind: string; topic: string; payload: string }): void {
    this.records.push(record);
  }
}
