import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { HEALTH_FILE, healthProblems, type HealthRecord } from "../../src/agent/health.ts";
import { runCli } from "../helpers/cli.ts";
import { ManualClock } from "../helpers/clock.ts";
import { makeTempDir, removeTempDir } from "../helpers/tempdirs.ts";

const NOW = Date.UTC(2026, 11, 4, 12);
let stateDir: string;

beforeEach(async () => {
  stateDir = await makeTempDir("ven-status-");
});

afterEach(async () => {
  await removeTempDir(stateDir);
});

function record(change: Partial<HealthRecord> = {}): HealthRecord {
  return {
    venId: "ven-status-1",
    pid: process.pid,
    instance: "host/1/1",
    updatedAt: new Date(NOW).toISOString(),
    intervalS: 5,
    connected: true,
    since: new Date(NOW - 60_000).toISOString(),
    lastTelemetryPublishedAt: new Date(NOW - 2000).toISOString(),
    lastTelemetryAckedAt: new Date(NOW - 2000).toISOString(),
    outbox: { depth: 0, oldestAt: null },
    lastError: null,
    takeoverSuspected: null,
    refusedSubscriptions: [],
    waitingForClock: false,
    stopped: false,
    ...change,
  };
}

const alive = () => true;

describe("healthProblems", () => {
  test("connected and acknowledged is healthy", () => {
    expect(healthProblems(record(), NOW, alive)).toEqual([]);
  });

  test.each<[string, Partial<HealthRecord>, string]>([
    ["disconnected", { connected: false, lastError: "connect ECONNREFUSED" }, "not connected since"],
    ["refused subscription", { refusedSubscriptions: ["ven/cmd/x"] }, "subscription rejected"],
    ["takeover", { takeoverSuspected: "another client is probably using client ID x" }, "another client"],
    ["stale telemetry", { lastTelemetryAckedAt: new Date(NOW - 60_000).toISOString() }, "no telemetry acknowledged"],
    ["waiting for clock", { waitingForClock: true }, "system clock"],
    ["stopped", { stopped: true }, "stopped"],
  ])("%s is unhealthy", (_name, change, text) => {
    const problems = healthProblems(record(change), NOW, alive);
    expect(problems.join("\n")).toContain(text);
  });

  test("dead process is unhealthy", () => {
    expect(healthProblems(record(), NOW, () => false).join("\n")).toContain(`process ${process.pid} is not running`);
  });
});

describe("ven status", () => {
  const args = () => ["status", "--ven-id", "ven-status-1", "--state-dir", stateDir];

  test("healthy exits 0", async () => {
    writeFileSync(join(stateDir, HEALTH_FILE), JSON.stringify(record()));
    const result = await runCli(args(), { clock: new ManualClock(NOW) });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("healthy");
  });

  test("unhealthy exits 1 with the problem", async () => {
    writeFileSync(join(stateDir, HEALTH_FILE), JSON.stringify(record({ connected: false, lastError: "connect ECONNREFUSED" })));
    const result = await runCli([...args(), "--output", "jsonl"], { clock: new ManualClock(NOW) });
    expect(result.code).toBe(1);
    const parsed = JSON.parse(result.stdout) as { healthy: boolean; problems: string[] };
    expect(parsed.healthy).toBe(false);
    expect(parsed.problems.join("\n")).toContain("connect ECONNREFUSED");
  });

  test("missing health file exits 1", async () => {
    const result = await runCli(args(), { clock: new ManualClock(NOW) });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("No health file");
  });
});
