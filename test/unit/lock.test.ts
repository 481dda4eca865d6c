import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { InstanceLock, LOCK_FILE, processStartTicks } from "../../src/agent/lock.ts";
import { ExitCode, VenError } from "../../src/errors.ts";
import { makeTempDir, removeTempDir } from "../helpers/tempdirs.ts";

let dir: string;
const NOW = new Date(Date.UTC(2026, 11, 4, 12));

beforeEach(async () => {
  dir = await makeTempDir("ven-lock-");
});

afterEach(async () => {
  await removeTempDir(dir);
});

function writeLock(record: Record<string, unknown>): void {
  writeFileSync(join(dir, LOCK_FILE), `${JSON.stringify(record)}\n`);
}

describe("InstanceLock", () => {
  test("acquire writes pid and start time", () => {
    const lock = InstanceLock.acquire(dir, "ven-a", "host-a", NOW);
    const record = JSON.parse(readFileSync(join(dir, LOCK_FILE), "utf8")) as Record<string, unknown>;
    expect(record.pid).toBe(process.pid);
    expect(record.startTicks).toBe(processStartTicks(process.pid));
    lock.release();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
  });

  test("live holder is refused with exit 5", async () => {
    const holder = Bun.spawn(["sleep", "30"]);
    try {
      writeLock({ pid: holder.pid, startTicks: processStartTicks(holder.pid), hostname: "other-host", startedAt: "2026-12-04T11:00:00.000Z" });
      const error = (() => {
        try {
          InstanceLock.acquire(dir, "ven-a", "host-a", NOW);
        } catch (caught) {
          return caught;
        }
        return undefined;
      })();
      expect(error).toBeInstanceOf(VenError);
      expect((error as VenError).exitCode).toBe(ExitCode.alreadyRunning);
      expect((error as VenError).message).toContain(`process ${holder.pid} on other-host`);
    } finally {
      holder.kill();
      await holder.exited;
    }
  });

  test("lock of a dead process is taken over", async () => {
    const finished = Bun.spawn(["true"]);
    await finished.exited;
    writeLock({ pid: finished.pid, startTicks: 1, hostname: "h", startedAt: "x" });
    const lock = InstanceLock.acquire(dir, "ven-a", "host-a", NOW);
    expect((JSON.parse(readFileSync(join(dir, LOCK_FILE), "utf8")) as { pid: number }).pid).toBe(process.pid);
    lock.release();
  });

  test("reused pid is recognised as stale", async () => {
    const other = Bun.spawn(["sleep", "30"]);
    try {
      // The pid is alive, but its start time differs from the one recorded: another program.
      writeLock({ pid: other.pid, startTicks: (processStartTicks(other.pid) ?? 0) + 12345, hostname: "h", startedAt: "x" });
      const lock = InstanceLock.acquire(dir, "ven-a", "host-a", NOW);
      lock.release();
    } finally {
      other.kill();
      await other.exited;
    }
  });

  test("garbage lock file is taken over", () => {
    writeFileSync(join(dir, LOCK_FILE), "not json");
    const lock = InstanceLock.acquire(dir, "ven-a", "host-a", NOW);
    lock.release();
  });

  test("release leaves another holder's lock", () => {
    const lock = InstanceLock.acquire(dir, "ven-a", "host-a", NOW);
    writeLock({ pid: 999_999, startTicks: 1, hostname: "h", startedAt: "x" });
    lock.release();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(true);
  });
});
