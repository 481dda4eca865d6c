import mqtt, { type MqttClient } from "mqtt";
import { VenAgent } from "../../src/agent/agent.ts";
import { resolveConfig, type VenConfig } from "../../src/config/resolve.ts";
import type { SettingKey } from "../../src/config/settings.ts";
import { loadTlsMaterial } from "../../src/config/tls-files.ts";
import { createLogger } from "../../src/logger.ts";
import type { AedesHandle } from "../helpers/brokers.ts";
import { ManualClock } from "../helpers/clock.ts";
import { makeTempDir } from "../helpers/tempdirs.ts";

export const VEN_ID = "ven-it-001";

export interface AgentUnderTest {
  agent: VenAgent;
  clock: ManualClock;
  config: VenConfig;
  logs: string[];
  stateDir: string;
}

/**
 * Starts a VEN agent against `brokerUrl` on a manual clock, with short reconnect delays and the
 * logs collected in memory.
 */
export async function startAgent(
  brokerUrl: string,
  flags: Partial<Record<SettingKey, string | boolean>> = {},
  stateDir?: string,
): Promise<AgentUnderTest> {
  const dir = stateDir ?? (await makeTempDir("ven-agent-"));
  const { config } = resolveConfig({
    flags: {
      broker: brokerUrl,
      venId: VEN_ID,
      stateDir: dir,
      mqttVersion: "3.1.1",
      reconnectMinDelay: "0.05",
      reconnectMaxDelay: "0.2",
      ...flags,
    },
    env: {},
    cwd: dir,
    hostname: "it-host",
    homeDir: dir,
  });
  const clock = new ManualClock(Date.now());
  const logs: string[] = [];
  const log = createLogger({ level: "debug", format: "pretty", sink: { write: (text) => logs.push(text) } });
  const tls = config.broker.protocol === "mqtts" ? loadTlsMaterial(config.tls, clock) : {};
  const agent = new VenAgent({ config, tls, clock, log, instance: "it-host/4242/1764849985" });
  agent.start();
  return { agent, clock, config, logs, stateDir: dir };
}

/** Polls `condition` in real time, stepping the manual clock so backoff timers can fire. */
export async function waitUntil(condition: () => boolean, clock: ManualClock | undefined, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    clock?.advance(50);
    await Bun.sleep(20);
  }
}

/** A plain MQTT 3.1.1 test client, standing in for the backend or an operator. */
export async function connectClient(broker: AedesHandle, clientId = `tester-${Math.random().toString(16).slice(2, 8)}`): Promise<MqttClient> {
  return await mqtt.connectAsync(broker.url, { clientId, protocolVersion: 4, reconnectPeriod: 0 });
}

export function json(payload: Buffer): Record<string, unknown> {
  return JSON.parse(payload.toString("utf8")) as Record<string, unknown>;
}
