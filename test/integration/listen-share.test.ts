import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import mqtt from "mqtt";
import { resolveConfig } from "../../src/config/resolve.ts";
import type { ExitCodeValue } from "../../src/errors.ts";
import { listen } from "../../src/listen/listener.ts";
import { createLogger } from "../../src/logger.ts";
import { systemClock } from "../../src/clock.ts";
import { mosquittoAvailable, startMosquitto, type MosquittoHandle } from "../helpers/mosquitto.ts";

const MESSAGES = 200;
// Shared subscriptions need a broker that has them; the in-process aedes broker does not.
const skip = !mosquittoAvailable() && process.env.CI !== "true";
if (skip) console.warn("listen --share tests skipped: install the Debian packages mosquitto and mosquitto-clients");

interface RunningListener {
  lines: string[];
  logs: string[];
  stop: AbortController;
  exit: Promise<ExitCodeValue>;
}

let broker: MosquittoHandle | undefined;

beforeAll(async () => {
  if (!skip) broker = await startMosquitto();
});

afterAll(async () => {
  await broker?.dispose();
});

function startListener(url: string, share: string | undefined): RunningListener {
  const config = resolveConfig({ flags: { broker: url }, env: {}, cwd: "/", hostname: "it-host", homeDir: "/" }).config;
  const lines: string[] = [];
  const logs: string[] = [];
  const stop = new AbortController();
  const exit = listen({
    config,
    venId: "+",
    extraTopics: [],
    share,
    format: "jsonl",
    // Output arrives in batches of lines; keep one entry per line.
    out: { write: (text: string) => lines.push(...text.split("\n").filter((line) => line !== "")) },
    clock: systemClock,
    log: createLogger({ level: "info", format: "pretty", sink: { write: (text) => logs.push(text) } }),
    stopSignal: stop.signal,
  });
  return { lines, logs, stop, exit };
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms`);
    await Bun.sleep(20);
  }
}

function seqsOf(listener: RunningListener): number[] {
  return listener.lines.map((line) => (JSON.parse(line) as { payload: { seq: number } }).payload.seq);
}

describe.skipIf(skip)("listen --share", () => {
  test("group members split one stream", async () => {
    const url = broker!.url;
    const members = [startListener(url, "split"), startListener(url, "split")];
    const watcher = startListener(url, undefined);
    const everyone = [...members, watcher];
    try {
      await waitFor(() => everyone.every((listener) => listener.logs.some((line) => line.includes("Listening on"))), "listeners did not subscribe");
      expect(members[0]!.logs.join("")).toContain("$share/split/ven/telemetry/+");

      const publisher = await mqtt.connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0 });
      for (let seq = 1; seq <= MESSAGES; seq++) {
        await publisher.publishAsync("ven/telemetry/ven-share", JSON.stringify({ venId: "ven-share", seq, timestamp: 1 }), { qos: 1 });
      }
      await publisher.endAsync();
      await waitFor(() => watcher.lines.length >= MESSAGES, "the plain listener did not receive every message");
      await waitFor(() => members[0]!.lines.length + members[1]!.lines.length >= MESSAGES, "the group did not receive every message");
      await Bun.sleep(200);

      const first = seqsOf(members[0]!);
      const second = seqsOf(members[1]!);
      expect(first.length).toBeGreaterThan(0);
      expect(second.length).toBeGreaterThan(0);
      expect(first.length + second.length).toBe(MESSAGES);
      const union = [...first, ...second].sort((a, b) => a - b);
      expect(union).toEqual(Array.from({ length: MESSAGES }, (_, index) => index + 1));
      expect(watcher.lines).toHaveLength(MESSAGES);
    } finally {
      for (const listener of everyone) listener.stop.abort();
      await Promise.all(everyone.map((listener) => listener.exit));
    }
  });

  test("--share connects with MQTT 5", async () => {
    const listener = startListener(broker!.url, "version");
    try {
      await waitFor(() => listener.logs.some((line) => line.includes("Listening on")), "listener did not subscribe");
      expect(listener.logs.join("")).toContain("(MQTT 5)");
    } finally {
      listener.stop.abort();
      await listener.exit;
    }
  });
});
