import { createHash } from "node:crypto";
import type { Logger } from "../logger.ts";
import { ACK_ERROR_CODES, negativeAck, positiveAck, type Ack, type AckContext, type EchoedId } from "../protocol/acks.ts";
import { decodeCommand, eventIdOf, payloadExcerpt, type CommandEnvelope } from "../protocol/commands.ts";

/** Handler of one op; it returns the ack to publish. */
export type OpHandler = (command: CommandEnvelope, context: AckContext) => Ack | Promise<Ack>;

export interface CommandProcessorOptions {
  venId: string;
  now: () => number;
  log: Logger;
  /** Handlers by op. Ops missing here get a `rejected` ack with `unsupported_op`. */
  handlers: Readonly<Record<string, OpHandler>>;
  /** Recent acks by correlationId: a repeated command gets its stored ack and is not carried out again. */
  acks?: AckStore | undefined;
}

/** Store of the acks of recent correlationIds. */
export interface AckStore {
  lookup(correlationId: EchoedId): Ack | undefined;
  remember(correlationId: EchoedId, ack: Ack): void;
}

/** Acknowledges `ping` with `pong: true`. */
export const pingHandler: OpHandler = (command, context) =>
  positiveAck(context, "success", { op: command.op, correlationId: command.correlationId ?? null, extra: { pong: true } });

/** Remembers at most this many retained payloads, so each is logged once and memory stays bounded. */
const MAX_REMEMBERED_RETAINED = 256;

/**
 * Turns every payload that arrives on the command topic into at most one ack. Nothing thrown here
 * reaches the MQTT client: a bad payload becomes a log line and, when a correlationId can be read,
 * a `rejected` ack.
 */
export class CommandProcessor {
  private readonly seenRetained = new Set<string>();

  constructor(private readonly options: CommandProcessorOptions) {}

  /** Returns the ack to publish, or undefined when the payload gets no ack. */
  async handle(topic: string, payload: Buffer, retained: boolean): Promise<Ack | undefined> {
    const { log } = this.options;
    const context: AckContext = { venId: this.options.venId, timestamp: this.options.now() };

    if (retained) {
      this.noteRetained(topic, payload);
      return undefined;
    }

    const decoded = decodeCommand(payload);
    if (decoded.kind === "invalid") {
      log.warn(`Invalid command on ${topic} (${payload.length} bytes): ${decoded.problem}; payload ${payloadExcerpt(payload)}`);
      if (decoded.correlationId === null) return undefined;
      return negativeAck(context, "rejected", {
        op: decoded.op ?? "unknown",
        correlationId: decoded.correlationId,
        eventId: decoded.eventId,
        code: ACK_ERROR_CODES.invalidCommand,
        message: decoded.problem,
      });
    }

    const command = decoded.command;
    const correlationId = command.correlationId ?? null;
    const eventId = eventIdOf(command);
    log.info(`Command received: ${command.op} (correlationId ${JSON.stringify(correlationId)})`);

    if (command.venId !== undefined && command.venId !== this.options.venId) {
      return negativeAck(context, "rejected", {
        op: command.op,
        correlationId,
        eventId,
        code: ACK_ERROR_CODES.wrongVen,
        message: `venId ${JSON.stringify(command.venId)} is not this VEN (${this.options.venId})`,
      });
    }

    const acks = this.options.acks;
    const stored = correlationId === null ? undefined : acks?.lookup(correlationId);
    if (stored) {
      log.info(`Command ${command.op} repeats correlationId ${JSON.stringify(correlationId)}; sending the stored ack again without carrying it out`);
      return stored;
    }
    const result = this.run(command, context, eventId);
    // `await` on a plain value would still yield, and a repeat could slip in before the ack is stored.
    const ack = result instanceof Promise ? await result : result;
    if (correlationId !== null) acks?.remember(correlationId, ack);
    return ack;
  }

  /**
   * Runs the op's handler. A handler that returns its ack directly is stored before anything else
   * runs, so a repeat arriving right behind it finds the stored ack.
   */
  private run(command: CommandEnvelope, context: AckContext, eventId: EchoedId | undefined): Ack | Promise<Ack> {
    const { log } = this.options;
    const correlationId = command.correlationId ?? null;
    const handler = Object.hasOwn(this.options.handlers, command.op) ? this.options.handlers[command.op] : undefined;
    if (!handler) {
      const supported = Object.keys(this.options.handlers).join(", ");
      return negativeAck(context, "rejected", {
        op: command.op,
        correlationId,
        eventId,
        code: ACK_ERROR_CODES.unsupportedOp,
        message: `op ${JSON.stringify(command.op)} is not supported; supported ops: ${supported}`,
      });
    }

    const failed = (error: unknown): Ack => {
      log.error(`Command ${command.op} failed: ${(error as Error).message}`);
      return negativeAck(context, "error", {
        op: command.op,
        correlationId,
        eventId,
        code: ACK_ERROR_CODES.internal,
        message: `the VEN failed to carry out ${command.op}: ${(error as Error).message}`,
      });
    };
    try {
      const result = handler(command, context);
      return result instanceof Promise ? result.catch(failed) : result;
    } catch (error) {
      return failed(error);
    }
  }

  /** Logs a retained command once per distinct payload; it is stale by definition and never executed. */
  private noteRetained(topic: string, payload: Buffer): void {
    const digest = createHash("sha256").update(topic).update("\0").update(payload).digest("hex");
    if (this.seenRetained.has(digest)) return;
    if (this.seenRetained.size >= MAX_REMEMBERED_RETAINED) this.seenRetained.clear();
    this.seenRetained.add(digest);
    this.options.log.warn(
      `Ignored a retained message on ${topic} (${payload.length} bytes): retained commands are stale and never executed. Clear it with an empty retained publish to that topic. Payload ${payloadExcerpt(payload)}`,
    );
  }
}
