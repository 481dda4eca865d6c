import { afterEach, describe, expect, test } from "bun:test";
import mqtt from "mqtt";
import { resolveConfig } from "../../src/config/resolve.ts";
import { listen } from "../../src/listen/listener.ts";
import { createLogger } from "../../src/logger.ts";
import { startAedes, type AedesHandle } from "../helpers/brokers.ts";
import { systemClock } from "../../src/clock.ts";

let broker: AedesHandle | undefined;

afterEach(async () => {
  await broker?.close();
  broker = undefined;
});

describe("listen and MQTT versions", () => {
  test("auto falls back to 3.1.1 instead of exit 4", async () => {
    // aedes speaks MQTT 3.1.1 only, so the MQTT 5 CONNECT is refused first.
    broker = await startAedes();
    const { config } = resolveConfig({ flags: { broker: broker.url, mqttVersion: "auto", reconnectMinDelay: "0.05" }, env: {}, cwd: "/", hostname: "h", homeDir: "/" });
    const lines: string[] = [];
    const logs: string[] = [];
    const stop = new AbortController();
    const exit = listen({
      config,
      venId: "+",
      extraTopics: [],
      count: 1,
      format: "jsonl",
      out: { write: (text: string) => lines.push(text) },
      clock: systemClock,
      log: createLogger({ level: "info", format: "pretty", sink: { write: (text) => logs.push(text) } }),
      stopSignal: stop.signal,
    });
    const deadline = Date.now() + 5000;
    while (!logs.some((line) => line.includes("Listening on")) && Date.now() < deadline) await Bun.sleep(20);
    const publisher = await mqtt.connectAsync(broker.url, { protocolVersion: 4, reconnectPeriod: 0 });
    await publisher.publishAsync("ven/telemetry/ven-x", '{"seq":1}', { qos: 1 });
    await publisher.endAsync();

    expect(await exit).toBe(0);
    expect(logs.some((line) => line.includes("does not accept MQTT 5; using MQTT 3.1.1"))).toBe(true);
    expect(lines.join("")).toContain('"topic":"ven/telemetry/ven-x"');
  });
});
