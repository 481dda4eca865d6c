import type { VenConfig } from "../config/resolve.ts";
import { UsageError } from "../errors.ts";

/**
 * Checks a shared-subscription group for `--share`. MQTT 5 (section 4.8.2) allows any name of at
 * least one character without `/`, `+` or `#`. Shared subscriptions need MQTT 5 and a broker that
 * supports them (mosquitto 2 and AWS IoT Core do), so the embedded broker, which speaks only
 * MQTT 3.1.1, and `--mqtt-version 3.1.1` are rejected before anything connects.
 */
export function checkShareGroup(group: string, config: VenConfig): void {
  if (group.length === 0 || /[/+#]/.test(group)) {
    throw new UsageError(`Invalid --share ${JSON.stringify(group)}: a group name must not be empty and must not contain /, + or #`, {
      hint: "Pass a plain name, for example --share listeners.",
    });
  }
  if (config.broker.embedded) {
    throw new UsageError("--share needs a broker with MQTT 5 shared subscriptions, and no broker is configured", {
      hint: "The embedded broker of `ven run` speaks only MQTT 3.1.1. Pass --broker with a broker that supports shared subscriptions, such as mosquitto 2 or AWS IoT Core.",
    });
  }
  if (config.mqttVersion === "3.1.1") {
    throw new UsageError("--share needs MQTT 5, but the MQTT version is set to 3.1.1", {
      hint: "Drop --mqtt-version 3.1.1 (or VEN_MQTT_VERSION), or pass --mqtt-version 5.",
    });
  }
}

/** Turns a topic filter into the shared subscription `$share/GROUP/FILTER`. */
export function sharedFilter(group: string, filter: string): string {
  return `$share/${group}/${filter}`;
}
