import { defineCommand } from "citty";
import { loadTlsMaterial } from "../../config/tls-files.ts";
import { describeOrigin, type VenConfig } from "../../config/resolve.ts";
import { SETTINGS, type SettingKey } from "../../config/settings.ts";
import { ExitCode } from "../../errors.ts";
import { settingArgs } from "../args.ts";
import { loadConfiguration, outputFormat, type CommandData } from "../context.ts";

/** Returns one setting's value as `ven config` prints it, with secrets redacted. */
function displayValue(config: VenConfig, key: SettingKey): string | number | boolean | null {
  switch (key) {
    case "broker":
      return config.broker.embedded ? `${config.broker.url} (embedded)` : config.broker.url;
    case "ca":
    case "cert":
    case "key":
      return config.tls[key] ?? null;
    case "insecure":
      return config.tls.insecure;
    case "password":
      return config.password === undefined ? null : "(redacted)";
    case "keepalive":
      return config.keepaliveS;
    case "interval":
      return config.intervalS;
    case "meteringTopic":
      return config.topics.metering;
    case "telemetryTopic":
      return config.topics.telemetry;
    case "commandTopic":
      return config.topics.command;
    case "ackTopic":
      return config.topics.ack;
    case "statusTopic":
      return config.topics.status;
    case "reconnectMinDelay":
      return config.reconnect.minDelayMs / 1000;
    case "reconnectMaxDelay":
      return config.reconnect.maxDelayMs / 1000;
    case "stableAfter":
      return config.reconnect.stableAfterMs / 1000;
    case "drainRate":
      return config.outbox.drainRatePerSecond;
    case "outboxMaxMb":
      return config.outbox.maxBytes / 1024 / 1024;
    case "outboxMaxAge":
      return config.outbox.telemetryMaxAgeMs / 3600 / 1000;
    case "batteryCapacity":
      return config.battery?.capacityKwh ?? null;
    case "batteryPower":
      return config.battery?.maxPowerKw ?? null;
    case "baselineWindow":
      return config.baselineWindowMs / 1000;
    case "idempotenceWindow":
      return config.idempotenceWindowMs / 1000;
    case "output":
      return config.output ?? "auto (pretty on a terminal, jsonl otherwise)";
    default:
      return (config[key] as string | number | boolean | undefined) ?? null;
  }
}

export const configCommand = defineCommand({
  meta: { name: "config", description: "Print the resolved configuration and where each value came from" },
  args: settingArgs(),
  run({ data }) {
    const { io } = data as CommandData;
    const { resolved } = loadConfiguration(data as CommandData);
    const { config, origins } = resolved;
    // The certificate checks of `ven run` apply here too: a key that does not match is invalid configuration.
    if (config.broker.protocol === "mqtts") loadTlsMaterial(config.tls, io.clock);

    const rows = SETTINGS.map((setting) => ({
      key: setting.key,
      value: displayValue(config, setting.key),
      source: describeOrigin(origins[setting.key]),
    }));
    if (outputFormat(resolved, io) === "jsonl") {
      const settings = Object.fromEntries(rows.map((row) => [row.key, { value: row.value, source: row.source }]));
      io.stdout.write(`${JSON.stringify({ file: resolved.file ?? null, settings, warnings: resolved.warnings })}\n`);
      return ExitCode.ok;
    }

    const keyWidth = Math.max(...rows.map((row) => row.key.length));
    const valueWidth = Math.min(60, Math.max(...rows.map((row) => String(row.value ?? "-").length)));
    io.stdout.write(`Configuration of ${config.venId} (config file: ${resolved.file ?? "none"})\n`);
    for (const row of rows) {
      io.stdout.write(`  ${row.key.padEnd(keyWidth)}  ${String(row.value ?? "-").padEnd(valueWidth)}  ${row.source}\n`);
    }
    return ExitCode.ok;
  },
});
