import { randomBytes } from "node:crypto";
import type { Clock, TimerHandle } from "../clock.ts";
import type { VenConfig } from "../config/resolve.ts";
import { loadTlsMaterial } from "../config/tls-files.ts";
import { ExitCode, VenError, type ExitCodeValue } from "../errors.ts";
import type { Logger } from "../logger.ts";
import { expandTopic } from "../protocol/topics.ts";
import { unreachableHint } from "../transport/hints.ts";
import { ConnectionSupervisor, connectionOptionsFrom } from "../transport/supervisor.ts";
import type { OutputStream } from "../cli/io.ts";
import { LineBatcher } from "./batch.ts";
import { formatJsonLine, formatPrettyLine, formatStatsInterval, formatStatsSummary } from "./format.ts";
import { sharedFilter } from "./share.ts";
import { TelemetryStats } from "./stats.ts";

export interface ListenOptions {
  config: VenConfig;
  /** One VEN's id, or `+` for all of them. */
  venId: string;
  /** More topic filters to subscribe to; `{venId}` is replaced like in the telemetry topic. */
  extraTopics: readonly string[];
  /** Exit 0 after this many messages. */
  count?: number | undefined;
  /** Stop after this many seconds: exit 0 if anything arrived, else 3. */
  timeoutS?: number | undefined;
  /**
   * Shared-subscription group: subscribe as `$share/GROUP/FILTER` so the listeners of one group
   * split the stream. Needs MQTT 5; check it first with `checkShareGroup`.
   */
  share?: string | undefined;
  /** Print figures every `intervalMs` and a summary at the end instead of each message. */
  stats?: { intervalMs: number } | undefined;
  format: "pretty" | "jsonl";
  out: OutputStream;
  clock: Clock;
  log: Logger;
  stopSignal: AbortSignal;
}

/** Operator tools never use a VEN's client ID, so they cannot take over its session. */
export function operatorClientId(venId: string, role: "listen" | "send" | "doctor"): string {
  const owner = venId === "+" ? "fleet" : venId.slice(0, 100);
  return `${owner}-${role}-${randomBytes(4).toString("hex")}`;
}

/**
 * Subscribes to the telemetry of one VEN or all of them (plus any extra topics) and writes each
 * message to `out`. Resolves with the exit code.
 */
export async function listen(options: ListenOptions): Promise<ExitCodeValue> {
  const { config, clock, log } = options;
  const tls = config.broker.protocol === "mqtts" ? loadTlsMaterial(config.tls, clock) : {};
  const filters = [
    ...new Set([expandTopic(config.topics.telemetry, options.venId), ...options.extraTopics.map((topic) => expandTopic(topic, options.venId))]),
  ];
  const share = options.share;
  const subscriptions = share === undefined ? filters : filters.map((filter) => sharedFilter(share, filter));
  const clientId = operatorClientId(options.venId, "listen");
  const stats = options.stats ? new TelemetryStats(clock.now()) : undefined;
  let received = 0;
  let everConnected = false;

  const output = new LineBatcher(options.out);
  return await new Promise<ExitCodeValue>((resolve, reject) => {
    let timer: TimerHandle | undefined;
    let statsTimer: TimerHandle | undefined;
    let finished = false;
    const finish = (result: ExitCodeValue | VenError) => {
      if (finished) return;
      finished = true;
      if (timer) clock.clearTimeout(timer);
      if (statsTimer) clock.clearTimeout(statsTimer);
      output.flush();
      if (stats && !(result instanceof VenError)) options.out.write(formatStatsSummary(stats.summary(clock.now()), options.format));
      void supervisor.stop({ drainTimeoutMs: 500 }).then(() => (result instanceof VenError ? reject(result) : resolve(result)));
    };

    const supervisor = new ConnectionSupervisor({
      ...connectionOptionsFrom(config, clientId, tls),
      // Shared subscriptions are an MQTT 5 feature, so --share never falls back to 3.1.1.
      mqttVersion: share === undefined ? config.mqttVersion : "5",
      subscriptions,
      firstFailure: "stop",
      clock,
      log: log.withTag("mqtt"),
      onMessage: (topic, payload, packet) => {
        if (finished) return;
        const message = { topic, payload, retained: packet.retain, receivedAtMs: clock.now() };
        if (stats) stats.record(message);
        else output.write(options.format === "jsonl" ? formatJsonLine(message) : formatPrettyLine(message));
        received++;
        if (options.count !== undefined && received >= options.count) finish(ExitCode.ok);
      },
    });
    supervisor.onConnected(() => {
      if (!everConnected) log.info(`Listening on ${subscriptions.join(", ")} as ${clientId}`);
      everConnected = true;
    });
    supervisor.onDisconnected(({ cause }) => {
      if (everConnected) return;
      finish(
        new VenError(ExitCode.brokerUnreachable, `Cannot reach the broker ${config.broker.url}: ${cause}`, {
          hint: unreachableHint(cause, config.broker, "listen"),
        }),
      );
    });

    if (options.timeoutS !== undefined) {
      timer = clock.setTimeout(() => {
        if (received === 0) log.warn(`No message arrived within ${options.timeoutS} s`);
        finish(received === 0 ? ExitCode.timedOut : ExitCode.ok);
      }, options.timeoutS * 1000);
    }
    if (stats && options.stats) {
      const intervalMs = options.stats.intervalMs;
      const report = () => {
        options.out.write(formatStatsInterval(stats.takeInterval(clock.now()), options.format));
        statsTimer = clock.setTimeout(report, intervalMs);
      };
      statsTimer = clock.setTimeout(report, intervalMs);
    }
    if (options.stopSignal.aborted) return finish(ExitCode.ok);
    options.stopSignal.addEventListener("abort", () => finish(ExitCode.ok), { once: true });
    supervisor.start();
  });
}
