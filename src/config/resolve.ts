import { existsSync, readFileSync } from "node:fs";
import { dirname, isAbsolute, resolve as resolvePath } from "node:path";
import * as v from "valibot";
import { ConfigError } from "../errors.ts";
import type { LogFormat, LogLevelName } from "../logger.ts";
import { DEFAULT_TOPICS, topicTemplateProblem, type TopicTemplates } from "../protocol/topics.ts";
import type { PanelAmperage } from "../protocol/telemetry.ts";
import { seedFromString } from "../simulator/prng.ts";
import { suggest } from "../text.ts";
import { asWebSocketTarget, AUTO_BROKER, autoBroker, DEFAULT_TLS_PORT, embeddedBroker, HTTPS_PORT, parseBroker, regionFromIotHost, type BrokerTarget } from "./broker.ts";
import { defaultStateDir, venIdFromHostname } from "./defaults.ts";
import { SETTINGS, SETTING_KEYS, type SettingDef, type SettingKey } from "./settings.ts";

export const DEFAULT_CONFIG_FILE = "ven.config.json";
export const CONFIG_FILE_ENV = "VEN_CONFIG";
export const DEFAULT_CERT_FILES = { ca: "certs/ca.pem", cert: "certs/client.crt", key: "certs/client.key" } as const;
/** The backend marks a VEN offline after 60 s without telemetry. */
export const OFFLINE_AFTER_S = 60;

export type MqttVersionSetting = "auto" | "5" | "3.1.1";
/** `mtls`: client certificate (or user name and password). `sigv4`: AWS IAM credentials over WebSocket. */
export type AuthSetting = "mtls" | "sigv4";

/** The configuration every command works from, after precedence, defaults and validation. */
export interface VenConfig {
  broker: BrokerTarget;
  venId: string;
  tls: { ca?: string | undefined; cert?: string | undefined; key?: string | undefined; insecure: boolean };
  auth: AuthSetting;
  /** AWS region from --region or the endpoint name; unset leaves it to the AWS SDK's own lookup. */
  region?: string | undefined;
  username?: string | undefined;
  password?: string | undefined;
  mqttVersion: MqttVersionSetting;
  keepaliveS: number;
  intervalS: number;
  stateDir: string;
  topics: TopicTemplates;
  legacyFields: boolean;
  panelAmps: PanelAmperage;
  seed: number;
  /** Speed of the simulated load pattern relative to real time. */
  timeScale: number;
  /** The simulated home battery; undefined when the site has none. */
  battery: { capacityKwh: number; maxPowerKw: number } | undefined;
  /** Window before an event whose samples make its baseline, in milliseconds. */
  baselineWindowMs: number;
  /** How long the ack of a correlationId is kept for a repeated command, in milliseconds. */
  idempotenceWindowMs: number;
  reconnect: { minDelayMs: number; maxDelayMs: number; stableAfterMs: number };
  outbox: { drainRatePerSecond: number; maxBytes: number; telemetryMaxAgeMs: number; ackMaxAgeMs: number };
  /** Unset means pretty on a terminal, jsonl otherwise. */
  output?: "pretty" | "jsonl" | undefined;
  logLevel: LogLevelName;
  logFormat: LogFormat;
}

/** Source of a setting's value, shown by `ven config` and in error messages. */
export type Origin =
  | { kind: "flag"; name: string }
  | { kind: "env"; name: string }
  | { kind: "file"; path: string }
  | { kind: "default"; note?: string };

export interface ConfigSources {
  /** Values from the command line, by setting key. */
  flags: Partial<Record<SettingKey, string | boolean>>;
  /** `--config FILE`, when given. */
  configFile?: string | undefined;
  env: Record<string, string | undefined>;
  cwd: string;
  hostname: string;
  homeDir: string;
  /**
   * Set by `ven run --fetch-certs`: the default certificate paths are used even when the files do
   * not exist yet, and a missing client certificate is not an error, because it is fetched next.
   */
  certificatesPending?: boolean;
}

export interface ResolvedConfig {
  config: VenConfig;
  origins: Record<SettingKey, Origin>;
  /** The config file that was read, if any. */
  file: string | undefined;
  warnings: string[];
}

interface Candidate {
  value: unknown;
  origin: Origin;
}

export function describeOrigin(origin: Origin): string {
  switch (origin.kind) {
    case "flag":
      return `--${origin.name}`;
    case "env":
      return origin.name;
    case "file":
      return `file ${origin.path}`;
    case "default":
      return origin.note ? `default (${origin.note})` : "default";
  }
}

/**
 * Resolves the configuration from flags, then environment, then the config file, then defaults,
 * and validates it. Throws a ConfigError naming the setting, the value received, where it came
 * from and how to fix it; nothing here opens a socket.
 */
export function resolveConfig(sources: ConfigSources): ResolvedConfig {
  const warnings: string[] = [];
  const file = readConfigFile(sources);
  const picked = new Map<SettingKey, Candidate>();
  const values: Partial<Record<SettingKey, unknown>> = {};

  for (const setting of SETTINGS) {
    const candidate = pickCandidate(setting, sources, file, warnings);
    if (!candidate) continue;
    picked.set(setting.key, candidate);
    values[setting.key] = parseSetting(setting, candidate, sources.cwd);
  }

  const origins = {} as Record<SettingKey, Origin>;
  const originOf = (key: SettingKey, fallback: Origin = { kind: "default" }): Origin => picked.get(key)?.origin ?? fallback;
  const fail = (key: SettingKey, message: string): never => {
    throw new ConfigError(`Invalid ${flagOf(key)} (from ${describeOrigin(originOf(key))}): ${message}`);
  };

  // Broker and its limits. AWS IoT Core serves WebSocket only on 443, so sigv4 defaults to that port.
  const auth = (values.auth as AuthSetting | undefined) ?? "mtls";
  origins.auth = originOf("auth");
  const defaultTlsPort = auth === "sigv4" ? HTTPS_PORT : DEFAULT_TLS_PORT;
  let broker: BrokerTarget;
  if (values.broker === undefined) {
    if (auth === "sigv4") fail("auth", "sigv4 needs an AWS IoT endpoint. Fix: pass --broker auto, or --broker with the endpoint's host name.");
    broker = embeddedBroker();
    origins.broker = { kind: "default", note: "embedded broker" };
  } else if ((values.broker as string).toLowerCase() === AUTO_BROKER) {
    broker = autoBroker(defaultTlsPort);
    origins.broker = originOf("broker");
  } else {
    const parsed = parseBroker(values.broker as string, { defaultTlsPort });
    if ("problem" in parsed) {
      fail("broker", `${JSON.stringify(values.broker)}: ${parsed.problem}. Fix: give a URL such as mqtts://host:8883 or a host name.`);
    }
    broker = parsed as BrokerTarget;
    origins.broker = originOf("broker");
    if (auth === "sigv4" && broker.protocol !== "mqtts") {
      fail("auth", `sigv4 signs a TLS WebSocket connection, but ${broker.url} is plain MQTT. Fix: give the endpoint's host name, or use --auth mtls.`);
    }
    if (auth === "sigv4") broker = asWebSocketTarget(broker);
  }
  const region = (values.region as string | undefined) ?? (broker.discover ? undefined : regionFromIotHost(broker.host));
  origins.region = originOf("region", { kind: "default", note: region ? "from the endpoint name" : "AWS SDK lookup" });
  if (auth === "sigv4" && !region && !broker.discover) {
    fail("region", `sigv4 needs the AWS region, and ${broker.host} does not name one. Fix: pass --region eu-west-1, or set AWS_REGION.`);
  }

  // Identity.
  const venId = (values.venId as string | undefined) ?? venIdFromHostname(sources.hostname);
  origins.venId = originOf("venId", { kind: "default", note: `from host name ${sources.hostname}` });

  // TLS files: explicit settings, or the old agent's layout under certs/ when those files exist.
  const tls: VenConfig["tls"] = { insecure: (values.insecure as boolean | undefined) ?? false };
  for (const key of ["ca", "cert", "key"] as const) {
    const explicit = values[key] as string | undefined;
    if (explicit !== undefined) {
      tls[key] = explicit;
      origins[key] = originOf(key);
      continue;
    }
    const fallback = resolvePath(sources.cwd, DEFAULT_CERT_FILES[key]);
    if (!broker.embedded && (existsSync(fallback) || sources.certificatesPending)) {
      tls[key] = fallback;
      origins[key] = { kind: "default", note: `${DEFAULT_CERT_FILES[key]} exists` };
    } else {
      origins[key] = { kind: "default", note: key === "ca" ? "built-in root certificates" : "none" };
    }
  }
  if (broker.protocol === "mqtts" && auth === "mtls" && !sources.certificatesPending) checkTlsSettings(tls, values, originOf, broker);
  origins.insecure = originOf("insecure");

  // MQTT session.
  const mqttVersion = (values.mqttVersion as MqttVersionSetting | undefined) ?? (broker.embedded ? "3.1.1" : "auto");
  origins.mqttVersion = originOf("mqttVersion", { kind: "default", note: broker.embedded ? "the embedded broker speaks 3.1.1" : "" });
  const keepaliveS = (values.keepalive as number | undefined) ?? 60;
  origins.keepalive = originOf("keepalive");
  if (broker.aws && (keepaliveS < 30 || keepaliveS > 1200)) {
    fail("keepalive", `${keepaliveS} s is outside 30 to 1200 s, the range AWS IoT Core accepts. Fix: use --keepalive 60.`);
  }

  const intervalS = (values.interval as number | undefined) ?? 5;
  origins.interval = originOf("interval");
  if (intervalS >= OFFLINE_AFTER_S) {
    warnings.push(
      `Telemetry interval ${intervalS} s (from ${describeOrigin(origins.interval)}) is ${OFFLINE_AFTER_S} s or more: the backend marks a VEN offline after ${OFFLINE_AFTER_S} s without telemetry and sends it no events.`,
    );
  }

  const topics: TopicTemplates = {
    metering: (values.meteringTopic as string | undefined) ?? DEFAULT_TOPICS.metering,
    telemetry: (values.telemetryTopic as string | undefined) ?? DEFAULT_TOPICS.telemetry,
    command: (values.commandTopic as string | undefined) ?? DEFAULT_TOPICS.command,
    ack: (values.ackTopic as string | undefined) ?? DEFAULT_TOPICS.ack,
    status: (values.statusTopic as string | undefined) ?? DEFAULT_TOPICS.status,
  };
  const topicKeys = { metering: "meteringTopic", telemetry: "telemetryTopic", command: "commandTopic", ack: "ackTopic", status: "statusTopic" } as const;
  for (const [name, key] of Object.entries(topicKeys) as [keyof TopicTemplates, SettingKey][]) {
    origins[key] = originOf(key);
    const problem = topicTemplateProblem(topics[name]);
    if (problem) fail(key, `${JSON.stringify(topics[name])}: ${problem}. Fix: use a topic such as ${DEFAULT_TOPICS[name]}.`);
  }

  const stateDirValue = values.stateDir as string | undefined;
  const stateDir = stateDirValue ?? defaultStateDir(venId, sources.env, sources.homeDir);
  origins.stateDir = originOf("stateDir");

  const reconnect = {
    minDelayMs: Math.round(((values.reconnectMinDelay as number | undefined) ?? 1) * 1000),
    maxDelayMs: Math.round(((values.reconnectMaxDelay as number | undefined) ?? 120) * 1000),
    stableAfterMs: Math.round(((values.stableAfter as number | undefined) ?? 30) * 1000),
  };
  const telemetryMaxAgeMs = Math.round(((values.outboxMaxAge as number | undefined) ?? 168) * 3600 * 1000);
  const outbox = {
    drainRatePerSecond: (values.drainRate as number | undefined) ?? 20,
    maxBytes: Math.round(((values.outboxMaxMb as number | undefined) ?? 256) * 1024 * 1024),
    telemetryMaxAgeMs,
    ackMaxAgeMs: telemetryMaxAgeMs * 4,
  };
  origins.reconnectMinDelay = originOf("reconnectMinDelay");
  origins.reconnectMaxDelay = originOf("reconnectMaxDelay");
  if (reconnect.minDelayMs > reconnect.maxDelayMs) {
    fail("reconnectMinDelay", `${reconnect.minDelayMs / 1000} s is longer than the maximum delay of ${reconnect.maxDelayMs / 1000} s. Fix: lower it or raise --reconnect-max-delay.`);
  }

  const batteryCapacity = values.batteryCapacity as number | undefined;
  if (values.batteryPower !== undefined && batteryCapacity === undefined) {
    fail("batteryPower", "a battery power is set but no capacity, so the site has no battery. Fix: add --battery-capacity 13.5, or leave --battery-power out.");
  }
  const battery = batteryCapacity === undefined ? undefined : { capacityKwh: batteryCapacity, maxPowerKw: (values.batteryPower as number | undefined) ?? 5 };

  for (const key of SETTING_KEYS) origins[key] ??= originOf(key);
  if (values.seed === undefined) origins.seed = { kind: "default", note: "derived from the VEN id" };

  const config: VenConfig = {
    broker,
    venId,
    tls,
    auth,
    region,
    username: values.username as string | undefined,
    password: values.password as string | undefined,
    mqttVersion,
    keepaliveS,
    intervalS,
    stateDir,
    topics,
    legacyFields: (values.legacyFields as boolean | undefined) ?? true,
    panelAmps: (values.panelAmps as PanelAmperage | undefined) ?? 200,
    seed: (values.seed as number | undefined) ?? seedFromString(venId),
    timeScale: (values.timeScale as number | undefined) ?? 1,
    battery,
    baselineWindowMs: ((values.baselineWindow as number | undefined) ?? 300) * 1000,
    idempotenceWindowMs: ((values.idempotenceWindow as number | undefined) ?? 3600) * 1000,
    reconnect,
    outbox,
    output: values.output as "pretty" | "jsonl" | undefined,
    logLevel: (values.logLevel as LogLevelName | undefined) ?? "info",
    logFormat: (values.logFormat as LogFormat | undefined) ?? "pretty",
  };
  return { config, origins, file: file?.path, warnings };
}

function flagOf(key: SettingKey): string {
  return `--${SETTINGS.find((setting) => setting.key === key)!.flag}`;
}

function fixFor(setting: SettingDef): string {
  const variable = setting.env[0];
  return `Fix: pass --${setting.flag} ${setting.example}${variable ? `, or set ${variable}=${setting.example}` : ""}.`;
}

function parseSetting(setting: SettingDef, candidate: Candidate, cwd: string): unknown {
  const result = v.safeParse(setting.schema, candidate.value);
  if (!result.success) {
    const received = typeof candidate.value === "string" ? JSON.stringify(candidate.value) : String(candidate.value);
    throw new ConfigError(
      `Invalid --${setting.flag} (from ${describeOrigin(candidate.origin)}): got ${received}, expected ${setting.expected}. ${fixFor(setting)}`,
    );
  }
  let value = result.output;
  if (setting.isPath && typeof value === "string") {
    const base = candidate.origin.kind === "file" ? dirname(candidate.origin.path) : cwd;
    value = isAbsolute(value) ? value : resolvePath(base, value);
  }
  return value;
}

/**
 * Picks the value with the highest precedence. Several environment names for one setting (ours
 * and the older agent's) that disagree are named in a warning; ours wins.
 */
function pickCandidate(
  setting: SettingDef,
  sources: ConfigSources,
  file: { path: string; values: Record<string, unknown> } | undefined,
  warnings: string[],
): Candidate | undefined {
  const flag = sources.flags[setting.key];
  const envHits = setting.env
    .map((name) => ({ name, value: sources.env[name] }))
    .filter((hit): hit is { name: string; value: string } => hit.value !== undefined && hit.value.trim() !== "");
  const distinct = new Set(envHits.map((hit) => hit.value.trim()));
  if (distinct.size > 1) {
    const listed = envHits.map((hit) => `${hit.name}=${setting.secret ? "(redacted)" : JSON.stringify(hit.value)}`).join(", ");
    warnings.push(`${listed} disagree; using ${envHits[0]!.name}${flag !== undefined ? ` (the --${setting.flag} flag overrides both)` : ""}.`);
  }

  if (flag !== undefined) return { value: flag, origin: { kind: "flag", name: setting.flag } };
  const envHit = envHits[0];
  if (envHit) return { value: envHit.value, origin: { kind: "env", name: envHit.name } };
  if (file && setting.key in file.values) {
    const value = file.values[setting.key];
    if (value !== null && value !== "") return { value, origin: { kind: "file", path: file.path } };
  }
  return undefined;
}

function readConfigFile(sources: ConfigSources): { path: string; values: Record<string, unknown> } | undefined {
  const explicit = sources.configFile ?? sources.env[CONFIG_FILE_ENV]?.trim();
  const path = resolvePath(sources.cwd, explicit || DEFAULT_CONFIG_FILE);
  if (!explicit && !existsSync(path)) return undefined;

  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === "ENOENT" ? "not found" : (error as Error).message;
    throw new ConfigError(`Config file ${path} (from ${sources.configFile ? "--config" : CONFIG_FILE_ENV}): ${reason}. Fix: check the path, or leave it out to use flags and environment only.`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`Config file ${path} is not valid JSON: ${(error as Error).message}. Fix: correct the file; nothing was started.`);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new ConfigError(`Config file ${path} must contain a JSON object such as {"venId": "ven-home-042"}.`);
  }
  const known = new Set<string>(SETTING_KEYS);
  for (const key of Object.keys(parsed)) {
    if (!known.has(key)) {
      const close = suggest(key, SETTING_KEYS);
      throw new ConfigError(
        `Config file ${path} has an unknown setting "${key}".${close ? ` Did you mean "${close}"?` : ""} Known settings: ${SETTING_KEYS.join(", ")}.`,
      );
    }
  }
  return { path, values: parsed as Record<string, unknown> };
}

function checkTlsSettings(
  tls: VenConfig["tls"],
  values: Partial<Record<SettingKey, unknown>>,
  originOf: (key: SettingKey) => Origin,
  broker: BrokerTarget,
): void {
  if (tls.cert !== undefined && tls.key === undefined) {
    throw new ConfigError(
      `A client certificate ${tls.cert} is set (--cert, from ${describeOrigin(originOf("cert"))}) but no private key. Fix: pass --key FILE or set VEN_KEY.`,
    );
  }
  if (tls.key !== undefined && tls.cert === undefined) {
    throw new ConfigError(
      `A private key ${tls.key} is set (--key, from ${describeOrigin(originOf("key"))}) but no client certificate. Fix: pass --cert FILE or set VEN_CERT.`,
    );
  }
  if (tls.cert === undefined && values.username === undefined) {
    throw new ConfigError(
      `${broker.url} uses TLS and needs a client certificate, but none is configured. Fix: pass --cert and --key (or set VEN_CERT and VEN_KEY), or put ${DEFAULT_CERT_FILES.cert} and ${DEFAULT_CERT_FILES.key} in the working directory.`,
    );
  }
}
