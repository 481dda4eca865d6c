import type { IClientOptions } from "mqtt";
import type { BrokerTarget } from "../config/broker.ts";
import type { TlsMaterial } from "../config/tls-files.ts";

/** Connection settings shared by `run`, `listen` and the other operator commands. */
export interface ConnectionSettings {
  broker: BrokerTarget;
  clientId: string;
  tls: TlsMaterial;
  insecure: boolean;
  username?: string | undefined;
  password?: string | undefined;
  keepaliveS: number;
  /** Time allowed for TCP, TLS and CONNACK together. */
  connectTimeoutMs?: number;
}

export interface Will {
  topic: string;
  payload: string;
  retain: boolean;
}

/**
 * MQTT.js options for one connection attempt. MQTT.js's own reconnect and resubscribe are off:
 * the supervisor owns the connection life cycle.
 */
export function buildClientOptions(settings: ConnectionSettings, protocolVersion: 4 | 5, will: Will | undefined): IClientOptions {
  const options: IClientOptions = {
    protocol: settings.broker.protocol,
    host: settings.broker.host,
    port: settings.broker.port,
    clientId: settings.clientId,
    protocolVersion,
    clean: true,
    keepalive: settings.keepaliveS,
    connectTimeout: settings.connectTimeoutMs ?? 30_000,
    reconnectPeriod: 0,
    resubscribe: false,
    queueQoSZero: false,
  };
  if (settings.username !== undefined) options.username = settings.username;
  if (settings.password !== undefined) options.password = settings.password;
  if (will) options.will = { topic: will.topic, payload: Buffer.from(will.payload), qos: 1, retain: will.retain };
  if (settings.broker.protocol === "mqtts") {
    // Without a CA file the runtime's root store applies, which trusts AWS IoT Core's ATS endpoints.
    if (settings.tls.ca) options.ca = settings.tls.ca;
    if (settings.tls.cert) options.cert = settings.tls.cert;
    if (settings.tls.key) options.key = settings.tls.key;
    options.rejectUnauthorized = !settings.insecure;
    (options as Record<string, unknown>).minVersion = "TLSv1.2";
  }
  return options;
}
