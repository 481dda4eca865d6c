import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import * as v from "valibot";
import { AckSchema } from "../../src/protocol/acks.ts";
import { TelemetrySchema } from "../../src/protocol/telemetry.ts";
import { assertPrerequisites, findRuntimeNoise, skipEndToEnd, VenInstall, type SpawnOptions, type VenProcess } from "../helpers/binary.ts";
import { startMosquitto, type MosquittoHandle } from "../helpers/mosquitto.ts";
import { makeTestPki } from "../helpers/pki.ts";
import {
  ANSI_ESCAPE,
  instancePid,
  listenArgs,
  parseJsonLine,
  readRetainedStatus,
  runArgs,
  topicsOf,
  waitForStatus,
  type VenTarget,
} from "./support.ts";

const VEN_ID = "ven-e2e-001";
const TOPICS = topicsOf(VEN_ID);

let install: VenInstall | undefined;
let broker: MosquittoHandle | undefined;
let target: VenTarget;

function telemetrySeq(text: string): number {
  return (JSON.parse(text) as { seq: number }).seq;
}

/** Starts `ven run` and waits until its retained status is online. */
async function startVen(options: SpawnOptions = {}): Promise<VenProcess> {
  const ven = install!.spawn(runArgs(target, install!.newStateDir()), options);
  try {
    await waitForStatus(broker!, VEN_ID, ven.pid, "online");
  } catch (error) {
    throw new Error(`${(error as Error).message}\nven run stderr:\n${ven.stderr}`);
  }
  return ven;
}

describe.skipIf(skipEndToEnd())("ven binary over mutual TLS", () => {
  beforeAll(async () => {
    assertPrerequisites();
    const pki = await makeTestPki();
    broker = await startMosquitto({ tls: pki, requireCertificate: true });
    install = await VenInstall.create();
    target = { broker, venId: VEN_ID, pki };
  });

  afterEach(async () => {
    await install?.killAll();
  });

  afterAll(async () => {
    await install?.dispose();
    await broker?.dispose();
  });

  test("listen prints two telemetry lines", async () => {
    await startVen();

    const listen = await install!.run(listenArgs(target, ["--count", "2", "--output", "jsonl"]), { timeoutMs: 10_000 });
    expect(listen.exitCode, `stderr:\n${listen.stderr}`).toBe(0);
    expect(listen.stdout).not.toMatch(ANSI_ESCAPE);
    const lines = listen.stdout.split("\n");
    expect(lines.pop(), "stdout ends with a newline").toBe("");
    expect(lines).toHaveLength(2);

    const seqs: number[] = [];
    for (const line of lines) {
      const record = parseJsonLine(line) as Record<string, unknown> | undefined;
      expect(record, `not a JSON object: ${line}`).toBeInstanceOf(Object);
      expect(Number.isNaN(Date.parse(String(record!.receivedAt))), "receivedAt is a date").toBe(false);
      expect(record!.topic).toBe(TOPICS.telemetry);
      expect(v.safeParse(TelemetrySchema, record!.payload).issues).toBeUndefined();
      seqs.push((record!.payload as { seq: number }).seq);
    }
    expect(seqs[1]!).toBeGreaterThan(seqs[0]!);
  }, 20_000);

  test("ping is acked with pong", async () => {
    await startVen();
    const acks = broker!.subscribe(TOPICS.ack, { count: 1, timeoutS: 8 });
    await acks.ready;

    const sent = await broker!.pub(TOPICS.command, JSON.stringify({ op: "ping", correlationId: "e2e-ping-1" }));
    expect(sent.exitCode, sent.stderr).toBe(0);

    const [message] = await acks.messages;
    expect(message, "an ack arrived").toBeDefined();
    const ack = JSON.parse(message!.text) as Record<string, unknown>;
    expect(v.safeParse(AckSchema, ack).issues).toBeUndefined();
    expect(ack.correlationId).toBe("e2e-ping-1");
    expect(ack.status).toBe("success");
    expect(ack.pong).toBe(true);
  }, 20_000);

  const stopCases = [
    { name: "SIGTERM publishes offline shutdown", signal: "SIGTERM", stdin: "ignore" },
    { name: "SIGTERM with stdin kept open", signal: "SIGTERM", stdin: "pipe" },
    { name: "SIGINT publishes offline shutdown", signal: "SIGINT", stdin: "ignore" },
  ] as const;
  for (const { name, signal, stdin } of stopCases) {
    test(name, async () => {
      const ven = await startVen({ stdin });

      const signalledAt = performance.now();
      ven.kill(signal);
      const result = await ven.waitForExit(10_000);
      const exitMs = performance.now() - signalledAt;
      expect(result.exitCode, `signal ${result.signalCode}, stderr:\n${result.stderr}`).toBe(0);
      expect(exitMs).toBeLessThan(5000);

      const status = await readRetainedStatus(broker!, VEN_ID);
      expect(instancePid(status?.instance ?? ""), "status comes from this process").toBe(ven.pid);
      expect(status?.status).toBe("offline");
      expect(status?.reason).toBe("shutdown");
    }, 20_000);
  }

  test("restart continues telemetry seq", async () => {
    const stateDir = install!.newStateDir();
    const wholeFirstRun = broker!.subscribe(TOPICS.telemetry, { count: 1000, timeoutS: 30 });
    const firstTwo = broker!.subscribe(TOPICS.telemetry, { count: 2, timeoutS: 10 });
    await Promise.all([wholeFirstRun.ready, firstTwo.ready]);

    const first = install!.spawn(runArgs(target, stateDir));
    expect(await firstTwo.messages, `ven run stderr:\n${first.stderr}`).toHaveLength(2);
    first.kill("SIGTERM");
    expect((await first.waitForExit(10_000)).exitCode).toBe(0);
    // Every sample was acknowledged before the exit, so this pause only lets the broker forward the last ones.
    await Bun.sleep(300);
    wholeFirstRun.stop();
    const lastSeq = Math.max(...(await wholeFirstRun.messages).map((message) => telemetrySeq(message.text)));

    const secondRun = broker!.subscribe(TOPICS.telemetry, { count: 1, timeoutS: 10 });
    await secondRun.ready;
    const second = install!.spawn(runArgs(target, stateDir));
    const [firstOfSecond] = await secondRun.messages;
    expect(firstOfSecond, `ven run stderr:\n${second.stderr}`).toBeDefined();
    const firstSeq = telemetrySeq(firstOfSecond!.text);
    expect(firstSeq).toBeGreaterThan(lastSeq);
    expect(firstSeq, "no gap between the runs").toBe(lastSeq + 1);
  }, 30_000);

  test("SIGKILL fires the last will", async () => {
    const ven = await startVen();

    ven.kill("SIGKILL");
    await ven.waitForExit(5000);

    const status = await waitForStatus(broker!, VEN_ID, ven.pid, "offline");
    expect(status.reason).toBe("connection_lost");
  }, 20_000);

  test("retained command is not executed", async () => {
    const stale = JSON.stringify({ op: "ping", correlationId: "e2e-retained-1" });
    const retained = await broker!.pub(TOPICS.command, stale, { retain: true });
    expect(retained.exitCode, retained.stderr).toBe(0);
    try {
      const acks = broker!.subscribe(TOPICS.ack, { count: 1, timeoutS: 8 });
      await acks.ready;
      const ven = await startVen();

      await broker!.pub(TOPICS.command, JSON.stringify({ op: "ping", correlationId: "e2e-ping-2" }));
      // An ack for the stale command would be published first, because it arrives on subscribe.
      const [message] = await acks.messages;
      expect(message, "an ack arrived").toBeDefined();
      expect((JSON.parse(message!.text) as { correlationId: unknown }).correlationId).toBe("e2e-ping-2");

      const mentions = ven.stderr.split("\n").filter((line) => line.includes("e2e-retained-1"));
      expect(mentions, "log lines about the stale command: one notice, no handling").toHaveLength(1);
    } finally {
      await broker!.pub(TOPICS.command, "", { retain: true });
    }
  }, 20_000);

  test("stderr free of runtime noise", () => {
    const results = install!.results;
    expect(results.length).toBeGreaterThan(0);
    const noise = findRuntimeNoise(results);
    expect(noise.deprecationWarnings).toEqual([]);
    expect(noise.runtimeWarnings).toEqual([]);
    expect(noise.stackTraces).toEqual([]);
  });
});
