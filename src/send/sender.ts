import { randomBytes } from "node:crypto";
import type { OutputStream } from "../cli/io.ts";
import type { Clock, TimerHandle } from "../clock.ts";
import type { VenConfig } from "../config/resolve.ts";
import { loadTlsMaterial } from "../config/tls-files.ts";
import { ExitCode, VenError, describeError, type ExitCodeValue } from "../errors.ts";
import { operatorClientId } from "../listen/listener.ts";
import type { Logger } from "../logger.ts";
import { expandTopic } from "../protocol/topics.ts";
import { unreachableHint } from "../transport/hints.ts";
import { ConnectionSupervisor, connectionOptionsFrom } from "../transport/supervisor.ts";
import { ackSucceeded, formatAck } from "./format.ts";

export interface SendOptions {
  config: VenConfig;
  /** The VEN to command; its command and ack topics come from the topic templates. */
  venId: string;
  /** The command without `correlationId`, which is added here. */
  command: Record<string, unknown>;
  timeoutS: number;
  format: "pretty" | "jsonl";
  out: OutputStream;
  clock: Clock;
  log: Logger;
  stopSignal: AbortSignal;
}

/** Returns a fresh correlationId for one `ven send`. */
export function newCorrelationId(): string {
  return `send-${randomBytes(6).toString("hex")}`;
}

/**
 * Publishes one command to a VEN and waits for the ack with its correlationId. Resolves with the
 * exit code: 0 for `success` or `accepted`, 1 for `rejected` or `error`, 3 when no ack arrives in
 * time. Throws a VenError (exit 4) when the first connection fails.
 */
export async function sendCommand(options: SendOptions): Promise<ExitCodeValue> {
  const { config, clock, log } = options;
  const tls = config.broker.protocol === "mqtts" ? loadTlsMaterial(config.tls, clock) : {};
  const commandTopic = expandTopic(config.topics.command, options.venId);
  const ackTopic = expandTopic(config.topics.ack, options.venId);
  const correlationId = newCorrelationId();
  const payload = JSON.stringify({ ...options.command, correlationId });
  const clientId = operatorClientId(options.venId, "send");
  let everConnected = false;

  return await new Promise<ExitCodeValue>((resolve, reject) => {
    let timer: TimerHandle | undefined;
    let finished = false;
    const finish = (result: ExitCodeValue | VenError) => {
      if (finished) return;
      finished = true;
      if (timer) clock.clearTimeout(timer);
      void supervisor.stop({ drainTimeoutMs: 500 }).then(() => (result instanceof VenError ? reject(result) : resolve(result)));
    };

    const supervisor = new ConnectionSupervisor({
      ...connectionOptionsFrom(config, clientId, tls),
      // The ack subscription is in place before the command goes out, so a fast ack is not missed.
      subscriptions: [ackTopic],
      firstFailure: "stop",
      clock,
      log: log.withTag("mqtt"),
      onConnected: async () => {
        if (everConnected) return;
        everConnected = true;
        log.info(`Sending ${String(options.command.op)} to ${commandTopic} as ${clientId} (correlationId ${correlationId})`);
        try {
          await supervisor.publish(commandTopic, payload);
        } catch (error) {
          log.error(`Command to ${commandTopic} not delivered: ${describeError(error)}`);
          finish(ExitCode.failed);
        }
      },
      onMessage: (topic, message) => {
        if (finished || topic !== ackTopic) return;
        let ack: unknown;
        try {
          ack = JSON.parse(message.toString("utf8"));
        } catch {
          return;
        }
        if (ack === null || typeof ack !== "object" || (ack as { correlationId?: unknown }).correlationId !== correlationId) return;
        const record = ack as Record<string, unknown>;
        options.out.write(formatAck(record, options.format));
        finish(ackSucceeded(record.status) ? ExitCode.ok : ExitCode.failed);
      },
    });
    supervisor.onDisconnected(({ cause }) => {
      if (everConnected) return;
      finish(
        new VenError(ExitCode.brokerUnreachable, `Cannot reach the broker ${config.broker.url}: ${cause}`, {
          hint: unreachableHint(cause, config.broker, "send"),
        }),
      );
    });

    timer = clock.setTimeout(() => {
      log.warn(`No ack with correlationId ${correlationId} arrived on ${ackTopic} within ${options.timeoutS} s; is the VEN ${options.venId} running and connected?`);
      finish(ExitCode.timedOut);
    }, options.timeoutS * 1000);
    if (options.stopSignal.aborted) return finish(ExitCode.failed);
    options.stopSignal.addEventListener("abort", () => finish(ExitCode.failed), { once: true });
    supervisor.start();
  });
}
