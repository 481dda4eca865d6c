import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { ExitCode, VenError } from "../errors.ts";
import { stateFile } from "./state-dir.ts";

export const LOCK_FILE = "lock";

interface LockRecord {
  pid: number;
  /** Process start time in clock ticks since boot (field 22 of /proc/PID/stat); distinguishes a reused pid. */
  startTicks: number | null;
  hostname: string;
  startedAt: string;
}

/** Reads a process's start time from /proc, or null where /proc is not available. */
export function processStartTicks(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name in field 2 may contain spaces and parentheses; fields after it are plain.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[19]);
    return Number.isFinite(ticks) ? ticks : null;
  } catch {
    return null;
  }
}

/** Tells whether a process with this id exists (also when it belongs to another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Makes sure one `ven run` per venId runs on this host: a lock file in the state directory,
 * created exclusively, holds the process id and start time. A lock left by a dead process, or by
 * a process id now used by another program, is taken over.
 */
export class InstanceLock {
  private constructor(private readonly path: string) {}

  static acquire(stateDir: string, venId: string, hostname: string, now: Date): InstanceLock {
    const path = stateFile(stateDir, LOCK_FILE);
    const record: LockRecord = { pid: process.pid, startTicks: processStartTicks(process.pid), hostname, startedAt: now.toISOString() };
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(path, "wx", 0o600);
        writeSync(fd, `${JSON.stringify(record)}\n`);
        closeSync(fd);
        return new InstanceLock(path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      }
      const holder = readHolder(path);
      if (holder && holderIsAlive(holder)) {
        throw new VenError(
          ExitCode.alreadyRunning,
          `Another ven run for ${venId} is already running: process ${holder.pid} on ${holder.hostname}, started ${holder.startedAt} (lock file ${path}).`,
          { hint: `Stop that process first, or give this one another --ven-id and --state-dir. Two processes with one venId take each other's MQTT session over.` },
        );
      }
      // Stale: the holder is gone, or its pid now belongs to another program.
      try {
        unlinkSync(path);
      } catch {
        // Another starting process may have taken it over first; the next attempt finds out.
      }
    }
    throw new VenError(ExitCode.alreadyRunning, `Could not take the lock file ${path}: another ven run for ${venId} is starting at the same time.`);
  }

  release(): void {
    try {
      const holder = readHolder(this.path);
      if (holder?.pid === process.pid) unlinkSync(this.path);
    } catch {
      // Already gone.
    }
  }
}

function readHolder(path: string): LockRecord | undefined {
  try {
    const parsed = JSON.parse(readFileSync(path, "utf8")) as Partial<LockRecord>;
    if (typeof parsed.pid !== "number") return undefined;
    return {
      pid: parsed.pid,
      startTicks: typeof parsed.startTicks === "number" ? parsed.startTicks : null,
      hostname: String(parsed.hostname ?? "?"),
      startedAt: String(parsed.startedAt ?? "?"),
    };
  } catch {
    return undefined;
  }
}

function holderIsAlive(holder: LockRecord): boolean {
  if (holder.pid === process.pid) return false;
  if (!processAlive(holder.pid)) return false;
  if (holder.startTicks === null) return true;
  return processStartTicks(holder.pid) === holder.startTicks;
}
