import { ConfigError } from "../errors.ts";
import type { Logger } from "../logger.ts";
import { readTextIfExists, stateFile, writeFileAtomic } from "./state-dir.ts";

export const SEQ_FILE = "seq";

/**
 * The telemetry sequence number, kept in the state directory. Each number is written to disk
 * before the message carrying it is handed to the MQTT client, so numbers continue across
 * restarts and a crash never issues the same number twice.
 */
export class SeqCounter {
  private last: number;
  private readonly path: string;

  /**
   * @param fallbackStart used when the file is unreadable: the present Unix time in seconds is
   *   above any number issued before, because at most one sample per second is published.
   */
  constructor(stateDir: string, log: Logger, fallbackStart: number) {
    this.path = stateFile(stateDir, SEQ_FILE);
    let text: string | undefined;
    try {
      text = readTextIfExists(this.path);
    } catch (error) {
      throw new ConfigError(
        `Sequence file ${this.path} could not be read: ${(error as Error).message}. Fix: make the state directory readable and writable by this user, or pass --state-dir DIR (VEN_STATE_DIR).`,
      );
    }
    if (text === undefined) {
      this.last = 0;
    } else if (/^\d+\s*$/.test(text) && Number.isSafeInteger(Number(text))) {
      this.last = Number(text);
    } else {
      this.last = fallbackStart;
      log.warn(`Sequence file ${this.path} is unreadable (${JSON.stringify(text.slice(0, 40))}); continuing from ${fallbackStart + 1} so no number is reused`);
    }
  }

  /** Reserves and persists the next number. */
  next(): number {
    const value = this.last + 1;
    writeFileAtomic(this.path, `${value}\n`);
    this.last = value;
    return value;
  }

  get current(): number {
    return this.last;
  }
}

/** The telemetry sequence number kept in memory only, for simulated VENs: it starts at 1 in every run. */
export class MemorySeqCounter {
  private last = 0;

  next(): number {
    this.last += 1;
    return this.last;
  }

  get current(): number {
    return this.last;
  }
}
