import * as v from "valibot";
import { LOG_FORMATS, LOG_LEVELS } from "../logger.ts";
import { PANEL_AMPERAGES } from "../protocol/telemetry.ts";

/**
 * Every setting, in one table: its flag, its environment variables (the first is ours, the rest
 * are names the older Python agent used), the config file key, the schema for a value, and the
 * text for help and error messages. Flags, `ven config`, and the README table follow this list.
 */
export interface SettingDef {
  key: SettingKey;
  /** Long flag without the dashes. */
  flag: string;
  env: readonly string[];
  kind: "string" | "boolean";
  /** One line for help text, with the unit. */
  description: string;
  /** Readable form of what the schema accepts, used in error messages. */
  expected: string;
  /** A valid value to show in the fix of an error message. */
  example: string;
  schema: v.GenericSchema<unknown, unknown>;
  secret?: boolean;
  /** Relative paths in a config file are read relative to the file's folder. */
  isPath?: boolean;
}

export const SETTING_KEYS = [
  "broker",
  "venId",
  "ca",
  "cert",
  "key",
  "insecure",
  "auth",
  "region",
  "username",
  "password",
  "mqttVersion",
  "keepalive",
  "interval",
  "stateDir",
  "meteringTopic",
  "telemetryTopic",
  "commandTopic",
  "ackTopic",
  "statusTopic",
  "legacyFields",
  "panelAmps",
  "seed",
  "timeScale",
  "batteryCapacity",
  "batteryPower",
  "baselineWindow",
  "idempotenceWindow",
  "reconnectMinDelay",
  "reconnectMaxDelay",
  "stableAfter",
  "drainRate",
  "outboxMaxMb",
  "outboxMaxAge",
  "output",
  "logLevel",
  "logFormat",
] as const;
export type SettingKey = (typeof SETTING_KEYS)[number];

/** Accepts a number, or a string that is a plain decimal number (as flags and variables are). */
function numeric(check: v.GenericSchema<number, number>) {
  return v.pipe(
    v.union([
      v.number(),
      v.pipe(
        v.string(),
        v.trim(),
        v.regex(/^-?\d+(\.\d+)?$/),
        v.transform((text) => Number(text)),
      ),
    ]),
    check,
  );
}

const booleanValue = v.union([
  v.boolean(),
  v.pipe(
    v.string(),
    v.trim(),
    v.toLowerCase(),
    v.picklist(["true", "false", "1", "0", "yes", "no"]),
    v.transform((text) => text === "true" || text === "1" || text === "yes"),
  ),
]);

const nonEmptyString = v.pipe(v.string(), v.trim(), v.minLength(1));

const topicSetting = (key: SettingKey, flag: string, env: string[], description: string, example: string): SettingDef => ({
  key,
  flag,
  env,
  kind: "string",
  description,
  expected: "an MQTT topic name, {venId} is replaced by the VEN id",
  example,
  schema: nonEmptyString,
});

export const SETTINGS: readonly SettingDef[] = [
  {
    key: "broker",
    flag: "broker",
    env: ["VEN_BROKER", "IOT_ENDPOINT"],
    kind: "string",
    description:
      "Broker URL (mqtts://host:8883, mqtt://host:1883), host name (mqtts on 8883), or auto (the account's AWS IoT endpoint); unset: the embedded broker on 127.0.0.1:1883",
    expected: "mqtt://host:port, mqtts://host:port, a host name or auto",
    example: "mqtts://abc123-ats.iot.us-east-1.amazonaws.com:8883",
    schema: nonEmptyString,
  },
  {
    key: "venId",
    flag: "ven-id",
    env: ["VEN_ID", "CLIENT_ID", "IOT_THING_NAME"],
    kind: "string",
    description: "VEN id: the AWS IoT thing name and MQTT client ID (default: derived from the host name)",
    expected: "1 to 128 characters from A-Z a-z 0-9 : _ -",
    example: "ven-home-042",
    schema: v.pipe(v.string(), v.trim(), v.regex(/^[A-Za-z0-9:_-]{1,128}$/)),
  },
  {
    key: "ca",
    flag: "ca",
    env: ["VEN_CA", "CA_CERT"],
    kind: "string",
    description: "CA certificate file, PEM (default: certs/ca.pem if it exists, else the runtime's built-in root certificates)",
    expected: "a path to a PEM file",
    example: "certs/ca.pem",
    schema: nonEmptyString,
    isPath: true,
  },
  {
    key: "cert",
    flag: "cert",
    env: ["VEN_CERT", "CLIENT_CERT"],
    kind: "string",
    description: "Client certificate file, PEM (default: certs/client.crt if it exists)",
    expected: "a path to a PEM file",
    example: "certs/client.crt",
    schema: nonEmptyString,
    isPath: true,
  },
  {
    key: "key",
    flag: "key",
    env: ["VEN_KEY", "PRIVATE_KEY"],
    kind: "string",
    description: "Client private key file, PEM (default: certs/client.key if it exists)",
    expected: "a path to a PEM file",
    example: "certs/client.key",
    schema: nonEmptyString,
    isPath: true,
  },
  {
    key: "insecure",
    flag: "insecure",
    env: ["VEN_INSECURE"],
    kind: "boolean",
    description: "Skip verification of the broker's certificate (testing only; warns at each connect)",
    expected: "true or false",
    example: "false",
    schema: booleanValue,
  },
  {
    key: "auth",
    flag: "auth",
    env: ["VEN_AUTH"],
    kind: "string",
    description:
      "How to sign in: mtls (client certificate, or --username and VEN_PASSWORD) or sigv4 (AWS IAM credentials over WebSocket on 443, for operator tools)",
    expected: "mtls or sigv4",
    example: "sigv4",
    schema: v.pipe(v.string(), v.trim(), v.toLowerCase(), v.picklist(["mtls", "sigv4"])),
  },
  {
    key: "region",
    flag: "region",
    env: ["VEN_REGION", "AWS_REGION"],
    kind: "string",
    description: "AWS region for --auth sigv4, --broker auto and certs fetch (default: from the endpoint name, else the AWS SDK's own lookup)",
    expected: "an AWS region name such as eu-west-1",
    example: "eu-west-1",
    schema: v.pipe(v.string(), v.trim(), v.regex(/^[a-z]{2}(-[a-z]+)+-\d+$/)),
  },
  {
    key: "username",
    flag: "username",
    env: ["VEN_USERNAME"],
    kind: "string",
    description: "MQTT user name, for brokers that use passwords",
    expected: "a non-empty string",
    example: "ven",
    schema: nonEmptyString,
  },
  {
    key: "password",
    flag: "password",
    env: ["VEN_PASSWORD"],
    kind: "string",
    description: "MQTT password (prefer the variable: flags show up in process lists)",
    expected: "a non-empty string",
    example: "…",
    schema: v.pipe(v.string(), v.minLength(1)),
    secret: true,
  },
  {
    key: "mqttVersion",
    flag: "mqtt-version",
    env: ["VEN_MQTT_VERSION"],
    kind: "string",
    description: "MQTT version: auto (5, falling back to 3.1.1 when refused), 5 or 3.1.1",
    expected: "auto, 5 or 3.1.1",
    example: "auto",
    schema: v.pipe(
      v.union([v.string(), v.number()]),
      v.transform((value) => String(value).trim()),
      v.picklist(["auto", "5", "3.1.1"]),
    ),
  },
  {
    key: "keepalive",
    flag: "keepalive",
    env: ["VEN_KEEPALIVE"],
    kind: "string",
    description: "MQTT keep-alive in seconds (AWS IoT Core: 30 to 1200)",
    expected: "whole seconds from 1 to 65535 (30 to 1200 for AWS IoT Core)",
    example: "60",
    schema: numeric(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(65535))),
  },
  {
    key: "interval",
    flag: "interval",
    env: ["VEN_INTERVAL"],
    kind: "string",
    description: "Telemetry interval in seconds (1 to 3600; the backend marks a VEN offline after 60 s without telemetry)",
    expected: "whole seconds from 1 to 3600",
    example: "5",
    schema: numeric(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(3600))),
  },
  {
    key: "stateDir",
    flag: "state-dir",
    env: ["VEN_STATE_DIR"],
    kind: "string",
    description: "State directory (default: $XDG_STATE_HOME/ven/<venId>, or ~/.local/state/ven/<venId>)",
    expected: "a directory path",
    example: "/var/lib/ven",
    schema: nonEmptyString,
    isPath: true,
  },
  topicSetting("meteringTopic", "metering-topic", ["VEN_METERING_TOPIC"], "Shared telemetry topic the backend stores", "volttron/metering"),
  topicSetting("telemetryTopic", "telemetry-topic", ["VEN_TELEMETRY_TOPIC", "TELEMETRY_TOPIC"], "Per-VEN telemetry topic for monitoring", "ven/telemetry/{venId}"),
  topicSetting("commandTopic", "cmd-topic", ["VEN_CMD_TOPIC", "CMD_TOPIC"], "Command topic the VEN subscribes to", "ven/cmd/{venId}"),
  topicSetting("ackTopic", "ack-topic", ["VEN_ACK_TOPIC", "ACK_TOPIC"], "Acknowledgement topic", "ven/ack/{venId}"),
  topicSetting("statusTopic", "status-topic", ["VEN_STATUS_TOPIC"], "Retained online/offline status topic", "ven/status/{venId}"),
  {
    key: "legacyFields",
    flag: "legacy-fields",
    env: ["VEN_LEGACY_FIELDS"],
    kind: "boolean",
    description: "Add ts, power_kw, shed_kw and message_num to telemetry for older consumers",
    expected: "true or false",
    example: "true",
    schema: booleanValue,
  },
  {
    key: "panelAmps",
    flag: "panel-amps",
    env: ["VEN_PANEL_AMPS"],
    kind: "string",
    description: "Simulated main breaker size in A: 100, 150 or 200",
    expected: "100, 150 or 200",
    example: "200",
    schema: numeric(v.pipe(v.number(), v.picklist(PANEL_AMPERAGES))),
  },
  {
    key: "seed",
    flag: "seed",
    env: ["VEN_SEED"],
    kind: "string",
    description: "Seed of the simulated site (default: derived from the VEN id)",
    expected: "a whole number from 0 to 4294967295",
    example: "42",
    schema: numeric(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(4294967295))),
  },
  {
    key: "timeScale",
    flag: "time-scale",
    env: ["VEN_TIME_SCALE"],
    kind: "string",
    description: "Speed of the simulated load pattern relative to real time, for demos (timestamps, intervals and events stay in real time)",
    expected: "a number from 1 to 1440",
    example: "60",
    schema: numeric(v.pipe(v.number(), v.minValue(1), v.maxValue(1440))),
  },
  {
    key: "batteryCapacity",
    flag: "battery-capacity",
    env: ["VEN_BATTERY_CAPACITY"],
    kind: "string",
    description: "Capacity of a simulated home battery in kWh (default: no battery)",
    expected: "kWh above 0, up to 1000",
    example: "13.5",
    schema: numeric(v.pipe(v.number(), v.gtValue(0), v.maxValue(1000))),
  },
  {
    key: "batteryPower",
    flag: "battery-power",
    env: ["VEN_BATTERY_POWER"],
    kind: "string",
    description: "Maximum charge and discharge power of the simulated battery in kW (default 5; needs --battery-capacity)",
    expected: "kW above 0, up to 100",
    example: "5",
    schema: numeric(v.pipe(v.number(), v.gtValue(0), v.maxValue(100))),
  },
  {
    key: "baselineWindow",
    flag: "baseline-window",
    env: ["VEN_BASELINE_WINDOW"],
    kind: "string",
    description: "Window before an event whose telemetry samples make its baseline, in seconds",
    expected: "whole seconds from 10 to 86400",
    example: "300",
    schema: numeric(v.pipe(v.number(), v.integer(), v.minValue(10), v.maxValue(86400))),
  },
  {
    key: "idempotenceWindow",
    flag: "idempotence-window",
    env: ["VEN_IDEMPOTENCE_WINDOW"],
    kind: "string",
    description: "How long the ack of a correlationId is kept and sent again for a repeated command, in seconds",
    expected: "whole seconds from 1 to 604800",
    example: "3600",
    schema: numeric(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(604800))),
  },
  {
    key: "reconnectMinDelay",
    flag: "reconnect-min-delay",
    env: ["VEN_RECONNECT_MIN_DELAY"],
    kind: "string",
    description: "Minimum delay before a reconnect attempt, in seconds",
    expected: "seconds from 0.05 to 3600",
    example: "1",
    schema: numeric(v.pipe(v.number(), v.minValue(0.05), v.maxValue(3600))),
  },
  {
    key: "reconnectMaxDelay",
    flag: "reconnect-max-delay",
    env: ["VEN_RECONNECT_MAX_DELAY"],
    kind: "string",
    description: "Maximum delay before a reconnect attempt, in seconds",
    expected: "seconds from 0.05 to 86400",
    example: "120",
    schema: numeric(v.pipe(v.number(), v.minValue(0.05), v.maxValue(86400))),
  },
  {
    key: "stableAfter",
    flag: "stable-after",
    env: ["VEN_STABLE_AFTER"],
    kind: "string",
    description: "Seconds a connection must stay up before the reconnect delay starts again from the minimum",
    expected: "seconds from 0.05 to 3600",
    example: "30",
    schema: numeric(v.pipe(v.number(), v.minValue(0.05), v.maxValue(3600))),
  },
  {
    key: "drainRate",
    flag: "drain-rate",
    env: ["VEN_DRAIN_RATE"],
    kind: "string",
    description: "Maximum stored messages replayed per second after a reconnect (AWS IoT Core allows 100 publishes/s per connection)",
    expected: "messages per second from 1 to 100",
    example: "20",
    schema: numeric(v.pipe(v.number(), v.minValue(1), v.maxValue(100))),
  },
  {
    key: "outboxMaxMb",
    flag: "outbox-max-mb",
    env: ["VEN_OUTBOX_MAX_MB"],
    kind: "string",
    description: "Maximum payload data the outbox keeps, in MiB; beyond it the oldest telemetry is dropped",
    expected: "MiB from 1 to 100000",
    example: "256",
    schema: numeric(v.pipe(v.number(), v.minValue(1), v.maxValue(100_000))),
  },
  {
    key: "outboxMaxAge",
    flag: "outbox-max-age",
    env: ["VEN_OUTBOX_MAX_AGE"],
    kind: "string",
    description: "Hours the outbox keeps telemetry that could not be sent; acks are kept four times as long",
    expected: "hours from 1 to 8760",
    example: "168",
    schema: numeric(v.pipe(v.number(), v.minValue(1), v.maxValue(8760))),
  },
  {
    key: "output",
    flag: "output",
    env: ["VEN_OUTPUT"],
    kind: "string",
    description: "Data output on stdout: pretty (default on a terminal) or jsonl",
    expected: "pretty or jsonl",
    example: "jsonl",
    // `json` is accepted as a synonym, because a command that prints one object reads better with it.
    schema: v.pipe(
      v.picklist(["pretty", "jsonl", "json"]),
      v.transform((value) => (value === "json" ? "jsonl" : value)),
    ),
  },
  {
    key: "logLevel",
    flag: "log-level",
    env: ["VEN_LOG_LEVEL"],
    kind: "string",
    description: "Log level: silent, error, warn, info, debug or trace",
    expected: LOG_LEVELS.join(", "),
    example: "info",
    schema: v.picklist(LOG_LEVELS),
  },
  {
    key: "logFormat",
    flag: "log-format",
    env: ["VEN_LOG_FORMAT"],
    kind: "string",
    description: "Log format on stderr: pretty or json (one object per line, for journald and collectors)",
    expected: LOG_FORMATS.join(" or "),
    example: "json",
    schema: v.picklist(LOG_FORMATS),
  },
];

export function settingByKey(key: SettingKey): SettingDef {
  const setting = SETTINGS.find((entry) => entry.key === key);
  if (!setting) throw new Error(`unknown setting ${key}`);
  return setting;
}
