import { describe, expect, test } from "bun:test";
import * as v from "valibot";
import packageJson from "../../package.json" with { type: "json" };
import { TelemetrySchema } from "../../src/protocol/telemetry.ts";
import { findRuntimeNoise, skipEndToEnd } from "../helpers/binary.ts";
import { ANSI_ESCAPE, type BinaryAndBroker, listenArgs, parseJsonLine, runArgs, topicsOf, useBinaryAndBroker, waitForStatus } from "./support.ts";

const VEN_ID = "ven-e2e-002";
const TOPICS = topicsOf(VEN_ID);

let env: BinaryAndBroker;

describe.skipIf(skipEndToEnd())("ven binary over plain mqtt", () => {
  env = useBinaryAndBroker(VEN_ID);

  test("online status names instance, version", async () => {
    const ven = env.install.spawn(runArgs(env.target, env.install.newStateDir()));

    // waitForStatus reads the pid out of `instance` (host/pid/startSeconds) to find this process.
    const status = await waitForStatus(env.broker, VEN_ID, ven.pid, "online");
    expect(status.instance).toMatch(/^[^/]+\/\d+\/\d+$/);
    expect(status.version).toBe(packageJson.version);
  }, 20_000);

  test("listen receives telemetry", async () => {
    const ven = env.install.spawn(runArgs(env.target, env.install.newStateDir()));
    await waitForStatus(env.broker, VEN_ID, ven.pid, "online");

    const listen = await env.install.run(listenArgs(env.target, ["--count", "2", "--output", "jsonl"]), { timeoutMs: 10_000 });
    expect(listen.exitCode, `stderr:\n${listen.stderr}`).toBe(0);
    expect(listen.stdout).not.toMatch(ANSI_ESCAPE);
    const lines = listen.stdout.split("\n");
    expect(lines.pop(), "stdout ends with a newline").toBe("");
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      const record = parseJsonLine(line) as Record<string, unknown> | undefined;
      expect(record, `not a JSON object: ${line}`).toBeInstanceOf(Object);
      expect(record!.topic).toBe(TOPICS.telemetry);
      expect(v.safeParse(TelemetrySchema, record!.payload).issues).toBeUndefined();
    }
  }, 20_000);

  test("SIGTERM exits in 5 s, broker frozen", async () => {
    const ven = env.install.spawn(runArgs(env.target, env.install.newStateDir()));
    await waitForStatus(env.broker, VEN_ID, ven.pid, "online");

    // A frozen broker keeps the socket open and acknowledges nothing, so the stop waits for
    // PUBACKs that never come.
    env.broker.freeze();
    try {
      const signalledAt = performance.now();
      ven.kill("SIGTERM");
      const result = await ven.waitForExit(10_000);
      const exitMs = performance.now() - signalledAt;
      expect(result.exitCode, `signal ${result.signalCode}, stderr:\n${result.stderr}`).toBe(0);
      expect(exitMs).toBeLessThan(5000);
    } finally {
      env.broker.thaw();
    }
    // After the thaw the broker reads what the VEN sent while it was frozen. Waiting for that keeps
    // a late last will from overwriting the status of the next test's VEN.
    await waitForStatus(env.broker, VEN_ID, ven.pid, "offline");
  }, 20_000);

  test("second SIGTERM exits at once", async () => {
    const ven = env.install.spawn(runArgs(env.target, env.install.newStateDir()));
    await waitForStatus(env.broker, VEN_ID, ven.pid, "online");

    // With the broker frozen, the first stop takes seconds, so the second signal arrives while it runs.
    env.broker.freeze();
    try {
      ven.kill("SIGTERM");
      await Bun.sleep(300);
      const secondAt = performance.now();
      ven.kill("SIGTERM");
      const result = await ven.waitForExit(10_000);
      const exitMs = performance.now() - secondAt;
      expect(exitMs).toBeLessThan(1000);
      expect(result.exitCode, "128 + SIGTERM, the code shells report for it").toBe(143);
    } finally {
      env.broker.thaw();
    }
    await waitForStatus(env.broker, VEN_ID, ven.pid, "offline");
  }, 20_000);

  test("listen timeout without messages exits 3", async () => {
    const result = await env.install.run(["listen", "--broker", env.broker.url, "--ven-id", "nobody", "--timeout", "1"]);

    expect(result.exitCode, `stderr:\n${result.stderr}`).toBe(3);
    expect(result.stdout).toBe("");
  }, 20_000);

  test("stderr free of runtime noise", () => {
    const results = env.install.results;
    expect(results.length).toBeGreaterThan(0);
    const noise = findRuntimeNoise(results);
    expect(noise.deprecationWarnings).toEqual([]);
    expect(noise.runtimeWarnings).toEqual([]);
    expect(noise.stackTraces).toEqual([]);
  });
});
