import mqtt, { MqttClient, type IClientOptions } from "mqtt";
import { HTTPS_PORT } from "../config/broker.ts";
import type { BrokerTarget } from "../config/broker.ts";
import type { TlsMaterial } from "../config/tls-files.ts";
import { presignedWebSocketStream } from "./presigned-websocket.ts";

/** The ALPN protocol that lets AWS IoT Core accept MQTT with a client certificate on port 443. */
export const AWS_IOT_MQTT_ALPN = "x-amzn-mqtt-ca";

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
  /**
   * `mtls` (default): MQTT over TCP or TLS, with a client certificate or a user name.
   * `sigv4`: MQTT over WebSocket to AWS IoT Core with a URL presigned from AWS credentials.
   */
  auth?: "mtls" | "sigv4" | undefined;
  /** AWS region that signs a sigv4 URL. */
  region?: string | undefined;
}

type CredentialProvider = () => Promise<{ accessKeyId: string; secretAccessKey: string; sessionToken?: string | undefined }>;

/** One credential chain per connection, so cached credentials are reused and refreshed by the SDK. */
const credentialProviders = new WeakMap<ConnectionSettings, Promise<CredentialProvider>>();

/**
 * Presigns the WebSocket URL for one connection attempt with the credentials of that moment. The
 * AWS SDK is imported here, so only sigv4 connections load it.
 */
async function presignedUrl(settings: ConnectionSettings): Promise<string> {
  const { defaultCredentialProvider, presignIotWebSocketUrl } = await import("../aws/presign.ts");
  let provider = credentialProviders.get(settings);
  if (!provider) {
    provider = defaultCredentialProvider();
    credentialProviders.set(settings, provider);
  }
  const credentials = await (await provider)();
  if (!settings.region) throw new Error("no AWS region to sign the WebSocket URL; pass --region");
  return await presignIotWebSocketUrl({ host: settings.broker.host, port: settings.broker.port, region: settings.region, credentials, nowMs: Date.now() });
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
  if (settings.auth === "sigv4") {
    // openMqttClient gives this connection a WebSocket stream in place of MQTT.js's TCP or TLS socket.
    options.protocol = "wss";
    options.path = "/mqtt";
    return options;
  }
  if (settings.broker.protocol === "mqtts") {
    // Without a CA file the runtime's root store applies, which trusts AWS IoT Core's ATS endpoints.
    if (settings.tls.ca) options.ca = settings.tls.ca;
    if (settings.tls.cert) options.cert = settings.tls.cert;
    if (settings.tls.key) options.key = settings.tls.key;
    options.rejectUnauthorized = !settings.insecure;
    // AWS IoT Core takes MQTT with a client certificate on 443 only when the handshake offers this ALPN protocol.
    if (settings.broker.port === HTTPS_PORT) options.ALPNProtocols = [AWS_IOT_MQTT_ALPN];
    (options as Record<string, unknown>).minVersion = "TLSv1.2";
  }
  return options;
}

/**
 * Starts one MQTT.js client for one connection attempt. A sigv4 connection runs over the
 * runtime's native WebSocket with a URL presigned for this attempt; the rest go through
 * `mqtt.connect`. MQTT.js's own `forceNativeWebSocket` is not used, because MQTT.js 5 fixes its
 * transport table at the first connect of the process.
 */
export function openMqttClient(settings: ConnectionSettings, options: IClientOptions): MqttClient {
  if (settings.auth !== "sigv4") return mqtt.connect(options);
  const tls = { rejectUnauthorized: !settings.insecure, ...(settings.tls.ca ? { ca: settings.tls.ca.toString() } : {}) };
  const protocols = [options.protocolVersion === 3 ? "mqttv3.1" : "mqtt"];
  const label = settings.broker.url;
  return new MqttClient(() => presignedWebSocketStream(() => presignedUrl(settings), protocols, tls, label), options);
}
