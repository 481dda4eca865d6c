import { afterEach, describe, expect, test } from "bun:test";
import mqtt, { type MqttClient } from "mqtt";
import { resolveConfig } from "../../src/config/resolve.ts";
import type { ExitCodeValue } from "../../src/errors.ts";
import { listen } from "../../src/listen/listener.ts";
import { createLogger } from "../../src/logger.ts";
import { startAedes, type AedesHandle } from "../helpers/brokers.ts";
import { ManualClock } from "../helpers/clock.ts";

let logLines: string[] = [];
const log = createLogger({ level: "info", format: "pretty", sink: { write: (text) => logLines.push(text) } });
let broker: AedesHandle | undefined;
let publisher: MqttClient | undefined;
let stop: AbortController | undefined;

afterEach(async () => {
  logLines = [];
  stop?.abort();
  stop = undefined;
  await publisher?.endAsync();
  publisher = undefined;
  await broker?.close();
  broker = undefined;
});

function configFor(url: string) {
  return resolveConfig({ flags: { broker: url, mqttVersion: "3.1.1" }, env: {}, cwd: "/", hostname: "it-host", homeDir: "/" }).config;
}

interface Report {
  type: "interval" | "summary";
  messages: number;
  vens: number;
  gaps: number;
  missing: number;
  duplicates: number;
  late: number;
  notJson: number;
  withoutSeq: number;
  delay: { meanMs: number | null; maxMs: number | null; samples: number };
  perVen: Array<{ venId: string; gaps: number; duplicates: number; late: number; lastSeq: number }>;
}

describe("listen --stats", () => {
  test("reports crafted stream per interval", async () => {
    broker = await startAedes();
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 0, 0, 0));
    const lines: string[] = [];
    stop = new AbortController();
    const exit: Promise<ExitCodeValue> = listen({
      config: configFor(broker.url),
      venId: "+",
      extraTopics: [],
      count: 9,
      stats: { intervalMs: 1000 },
      format: "jsonl",
      out: { write: (text: string) => lines.push(text) },
      clock,
      log,
      stopSignal: stop.signal,
    });
    await waitForSubscription();

    publisher = await mqtt.connectAsync(broker.url, { protocolVersion: 4, reconnectPeriod: 0 });
    // Stamped 3 s before the manual clock's now: a delay of 3000 ms.
    const timestamp = Math.floor(clock.now() / 1000) - 3;
    const send = (venId: string, seq: number) => publisher!.publishAsync(`ven/telemetry/${venId}`, JSON.stringify({ venId, seq, timestamp }), { qos: 1 });
    for (const seq of [1, 2, 4, 4]) await send("ven-a", seq);
    await publisher.publishAsync("ven/telemetry/ven-a", "not json", { qos: 1 });
    const first = await collectIntervals(lines, clock, 5);

    for (const seq of [3, 6]) await send("ven-a", seq);
    for (const seq of [10, 11]) await send("ven-b", seq);
    const code = await exit;

    expect(code).toBe(0);
    expect(first.messages).toBe(5);
    expect(first.notJson).toBe(1);
    expect(first.gaps).toBe(1);
    expect(first.duplicates).toBe(1);
    expect(first.delay.meanMs).toBe(3000);

    const summary = reports(lines).find((report) => report.type === "summary");
    expect(summary).toBeDefined();
    expect(summary!.messages).toBe(9);
    expect(summary!.vens).toBe(2);
    expect(summary!.gaps).toBe(2);
    expect(summary!.missing).toBe(1);
    expect(summary!.late).toBe(1);
    expect(summary!.duplicates).toBe(1);
    expect(summary!.perVen.map((ven) => ven.venId)).toEqual(["ven-a", "ven-b"]);
    expect(summary!.perVen[0]!.lastSeq).toBe(6);
  });

  test("prints no message lines", async () => {
    broker = await startAedes();
    const clock = new ManualClock();
    const lines: string[] = [];
    stop = new AbortController();
    const exit = listen({
      config: configFor(broker.url),
      venId: "+",
      extraTopics: [],
      count: 1,
      stats: { intervalMs: 10_000 },
      format: "pretty",
      out: { write: (text: string) => lines.push(text) },
      clock,
      log,
      stopSignal: stop.signal,
    });
    await waitForSubscription();
    publisher = await mqtt.connectAsync(broker.url, { protocolVersion: 4, reconnectPeriod: 0 });
    await publisher.publishAsync("ven/telemetry/ven-a", JSON.stringify({ venId: "ven-a", seq: 1, timestamp: 1 }), { qos: 1 });

    expect(await exit).toBe(0);
    const text = lines.join("");
    expect(text.startsWith("Summary: 1 messages")).toBe(true);
    expect(text).not.toContain("ven/telemetry/ven-a");
  });
});

function reports(lines: readonly string[]): Report[] {
  return lines.flatMap((chunk) => chunk.trimEnd().split("\n")).map((line) => JSON.parse(line) as Report);
}

/** Waits for the listener's "Listening on" log line, written once its subscriptions are acknowledged. */
async function waitForSubscription(): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!logLines.some((line) => line.includes("Listening on"))) {
    if (Date.now() > deadline) throw new Error(`listener did not subscribe within 5 s; log:\n${logLines.join("")}`);
    await Bun.sleep(20);
  }
}

/**
 * Steps the manual clock one interval at a time until the interval reports add up to `messages`,
 * and returns their sum.
 */
async function collectIntervals(lines: string[], clock: ManualClock, messages: number): Promise<Report> {
  const deadline = Date.now() + 5000;
  const sum: Report = {
    type: "interval", messages: 0, vens: 0, gaps: 0, missing: 0, duplicates: 0, late: 0, notJson: 0, withoutSeq: 0,
    delay: { meanMs: null, maxMs: null, samples: 0 }, perVen: [],
  };
  let read = lines.length;
  while (sum.messages < messages) {
    if (Date.now() > deadline) throw new Error(`only ${sum.messages} of ${messages} messages reported within 5 s`);
    await Bun.sleep(20);
    clock.advance(1000);
    const fresh = lines.slice(read);
    read = lines.length;
    for (const report of reports(fresh)) {
      sum.messages += report.messages;
      sum.gaps += report.gaps;
      sum.duplicates += report.duplicates;
      sum.late += report.late;
      sum.notJson += report.notJson;
      if (report.delay.meanMs !== null) sum.delay = report.delay;
    }
  }
  return sum;
}
