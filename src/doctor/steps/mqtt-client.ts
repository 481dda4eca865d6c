import type { IClientOptions, MqttClient } from "mqtt";
import { buildClientOptions, openMqttClient } from "../../transport/client-options.ts";
import { describeReasonCode } from "../../transport/reason-codes.ts";
import type { DoctorContext } from "../types.ts";

/** The outcome of one MQTT connection attempt of the doctor. */
export type ConnectOutcome = { client: MqttClient; version: 4 | 5 } | { refused: number; version: 4 | 5 } | { error: Error };

function attempt(context: DoctorContext, clientId: string, version: 4 | 5): Promise<ConnectOutcome> {
  const settings = {
    broker: context.config.broker,
    clientId,
    tls: context.tls,
    insecure: context.config.tls.insecure,
    username: context.config.username,
    password: context.config.password,
    keepaliveS: context.config.keepaliveS,
    auth: context.config.auth,
    region: context.config.region,
    connectTimeoutMs: context.timeoutMs,
  };
  const options: IClientOptions = buildClientOptions(settings, version, undefined);
  return new Promise((resolve) => {
    const client = openMqttClient(settings, options);
    let settled = false;
    const settle = (outcome: ConnectOutcome) => {
      if (settled) return;
      settled = true;
      if (!("client" in outcome)) client.end(true);
      resolve(outcome);
    };
    client.once("connect", () => settle({ client, version }));
    client.on("error", (error) => {
      const code = (error as { code?: unknown }).code;
      settle(typeof code === "number" ? { refused: code, version } : { error });
    });
    client.once("close", () => settle({ error: new Error("connection closed before CONNACK") }));
  });
}

/**
 * Connects once with `clientId`, trying MQTT 5 and then 3.1.1 when the setting is `auto` and the
 * broker rejects version 5, as `ven run` does.
 */
export async function connectOnce(context: DoctorContext, clientId: string): Promise<ConnectOutcome> {
  const setting = context.config.mqttVersion;
  const first = await attempt(context, clientId, setting === "3.1.1" ? 4 : 5);
  if (setting === "auto" && "refused" in first && (first.refused === 0x84 || first.refused === 1)) return await attempt(context, clientId, 4);
  return first;
}

/** Formats a CONNACK code with its name for the MQTT version used. */
export function connackName(code: number, version: 4 | 5): string {
  return describeReasonCode(code, version, "connack");
}

/** Closes a doctor connection without waiting for the broker. */
export function closeClient(client: MqttClient | undefined): void {
  client?.end(true);
}
