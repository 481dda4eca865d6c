import type { Clock, TimerHandle } from "../clock.ts";
import { describeError } from "../errors.ts";
import type { Logger } from "../logger.ts";
import type { MessagePublisher } from "../agent/publisher.ts";
import { NotConnectedError, type ConnectionSupervisor } from "../transport/supervisor.ts";
import { describeReasonCode } from "../transport/reason-codes.ts";
import type { DropReport, OutboxEntry, OutboxKind, OutboxStore } from "./store.ts";

/** AWS IoT Core rejects payloads over 128 KiB. */
export const MAX_PAYLOAD_BYTES = 128 * 1024;
/** AWS IoT Core allows at most 100 unacknowledged QoS 1 messages per connection. */
export const MAX_IN_FLIGHT = 100;
/** Attempts before a message the broker keeps rejecting, or that keeps closing the connection, is set aside. */
export const MAX_ATTEMPTS = 3;
/** A close this soon after a PUBLISH counts against that message (how AWS IoT Core responds to a denied publish). */
const CLOSE_BLAME_WINDOW_MS = 1000;

export interface DeadLetterSink {
  write(record: { at: number; reason: string; kind: OutboxKind; topic: string; payload: string }): void;
}

export interface OutboxSenderOptions {
  store: OutboxStore;
  supervisor: ConnectionSupervisor;
  clock: Clock;
  log: Logger;
  /** Maximum replayed messages per second after a reconnect; fresh messages are not paced. */
  drainRatePerSecond: number;
  deadLetter: DeadLetterSink;
  /** Topics whose messages are acks, kept longer than telemetry when the outbox is full. */
  ackTopics: ReadonlySet<string>;
  maxPayloadBytes?: number;
}

interface Attempt {
  entry: OutboxEntry;
  sentAt: number;
}

/**
 * Delivers durable messages through the outbox: each is stored before it is handed to the
 * client and removed only after a successful PUBACK. After a reconnect the backlog drains oldest
 * first under the configured rate, with at most 100 messages in flight, while messages made since
 * the connection came up go out at once.
 */
export class OutboxSender implements MessagePublisher {
  private readonly store: OutboxStore;
  private readonly supervisor: ConnectionSupervisor;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly inFlight = new Map<number, Attempt>();
  private readonly failures = new Map<number, number>();
  private readonly fresh: number[] = [];
  private backlog: number[] = [];
  private connectedAt = 0;
  private lastReplayAt = 0;
  private timer: TimerHandle | undefined;
  private lastSent: Attempt | undefined;
  private ackListeners = new Set<(entry: OutboxEntry) => void>();
  private stopped = false;

  constructor(private readonly options: OutboxSenderOptions) {
    this.store = options.store;
    this.supervisor = options.supervisor;
    this.clock = options.clock;
    this.log = options.log;
    this.report(this.store.enforceLimits(this.clock.now()));
    if (this.store.depth > 0) {
      this.log.info(`Outbox contains ${this.store.depth} message(s) from before; they are sent after connecting`);
    }
    this.backlog = [...this.store.entries()].map((entry) => entry.id);
    this.supervisor.onConnected(() => this.onConnected());
    this.supervisor.onDisconnected(() => this.onDisconnected());
  }

  get depth(): number {
    return this.store.depth;
  }

  /** Called with each message the broker acknowledged. */
  onAcknowledged(listener: (entry: OutboxEntry) => void): void {
    this.ackListeners.add(listener);
  }

  get oldestCreatedAt(): number | undefined {
    return this.store.oldest?.createdAt;
  }

  async durable(topic: string, payload: string, description: string): Promise<void> {
    const kind: OutboxKind = this.options.ackTopics.has(topic) ? "ack" : "telemetry";
    const limit = this.options.maxPayloadBytes ?? MAX_PAYLOAD_BYTES;
    const size = Buffer.byteLength(payload);
    if (size > limit) {
      this.log.error(`${description} for ${topic} not sent: ${size} bytes is over the ${limit}-byte limit of AWS IoT Core`);
      return;
    }
    const entry = this.store.append(kind, topic, payload, this.clock.now());
    this.report(this.store.enforceLimits(this.clock.now()));
    if (!this.store.has(entry.id)) return;
    this.fresh.push(entry.id);
    this.pump();
  }

  async live(topic: string, payload: string, description: string): Promise<void> {
    if (!this.supervisor.connected) return;
    try {
      await this.supervisor.publish(topic, payload);
    } catch (error) {
      if (!(error instanceof NotConnectedError)) this.log.debug(`${description} to ${topic} not delivered: ${describeError(error)}`);
    }
  }

  /** Stops sending; what is still stored goes out after the next start. */
  stop(): void {
    this.stopped = true;
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.store.close();
  }

  private onConnected(): void {
    this.connectedAt = this.clock.now();
    // Everything not yet acknowledged, fresh or not, is replayed in id order under the pacing.
    const waiting = new Set([...this.backlog, ...this.fresh, ...this.inFlight.keys()]);
    this.inFlight.clear();
    this.fresh.length = 0;
    this.backlog = [...waiting].filter((id) => this.store.has(id)).sort((a, b) => a - b);
    if (this.backlog.length > 0) {
      this.log.info(`Replaying ${this.backlog.length} stored message(s), at most ${this.options.drainRatePerSecond} per second`);
    }
    this.pump();
  }

  private onDisconnected(): void {
    const now = this.clock.now();
    const last = this.lastSent;
    if (last && this.inFlight.has(last.entry.id) && now - last.sentAt <= CLOSE_BLAME_WINDOW_MS) {
      this.countFailure(last.entry, "the connection closed right after it was published; a broker policy may deny its topic");
    }
    for (const attempt of this.inFlight.values()) this.backlog.push(attempt.entry.id);
    this.inFlight.clear();
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private pump(): void {
    if (this.stopped || !this.supervisor.connected) return;
    while (this.inFlight.size < MAX_IN_FLIGHT) {
      const freshId = this.fresh.shift();
      if (freshId !== undefined) {
        this.send(freshId);
        continue;
      }
      if (this.backlog.length === 0) return;
      const interval = 1000 / this.options.drainRatePerSecond;
      const now = this.clock.now();
      const due = this.lastReplayAt + interval;
      if (now < due) {
        this.timer ??= this.clock.setTimeout(() => {
          this.timer = undefined;
          this.pump();
        }, due - now);
        return;
      }
      this.lastReplayAt = now;
      this.send(this.backlog.shift()!);
    }
  }

  private send(id: number): void {
    const entry = this.store.get(id);
    if (!entry || this.inFlight.has(id)) return;
    let payload: string;
    try {
      payload = this.store.payloadOf(entry);
    } catch (error) {
      this.log.error(`Outbox message ${id} could not be read and is dropped: ${describeError(error)}`);
      this.store.remove(id);
      return;
    }
    const attempt = { entry, sentAt: this.clock.now() };
    this.inFlight.set(id, attempt);
    this.lastSent = attempt;
    this.supervisor.publish(entry.topic, payload).then(
      () => {
        if (this.inFlight.get(id) !== attempt) return;
        this.inFlight.delete(id);
        this.failures.delete(id);
        if (!this.stopped) this.store.remove(id);
        for (const listener of this.ackListeners) listener(entry);
        this.pump();
      },
      (error: unknown) => {
        if (this.inFlight.get(id) !== attempt) return;
        this.inFlight.delete(id);
        const code = (error as { code?: unknown }).code;
        if (typeof code === "number") {
          this.countFailure(entry, `the broker rejected it with ${describeReasonCode(code, 5)}`);
          if (this.store.has(id)) this.backlog.push(id);
        }
        // Without a code the connection closed: onDisconnected puts it back in the backlog.
        this.pump();
      },
    );
  }

  private countFailure(entry: OutboxEntry, reason: string): void {
    const count = (this.failures.get(entry.id) ?? 0) + 1;
    this.failures.set(entry.id, count);
    if (count < MAX_ATTEMPTS) {
      this.log.warn(`Message ${entry.id} for ${entry.topic} not delivered (attempt ${count} of ${MAX_ATTEMPTS}): ${reason}`);
      return;
    }
    let payload = "";
    try {
      payload = this.store.payloadOf(entry);
    } catch {
      // The record is unreadable; the dead letter keeps what is known.
    }
    this.options.deadLetter.write({ at: this.clock.now(), reason, kind: entry.kind, topic: entry.topic, payload });
    this.store.remove(entry.id);
    this.failures.delete(entry.id);
    this.backlog = this.backlog.filter((id) => id !== entry.id);
    this.log.error(`Message ${entry.id} for ${entry.topic} set aside in the dead-letter file after ${MAX_ATTEMPTS} attempts: ${reason}`);
  }

  private report(drops: DropReport[]): void {
    for (const drop of drops) {
      const what = drop.reason === "full" ? "the outbox is full" : "they are older than the outbox keeps messages";
      this.log.warn(`Dropped ${drop.telemetry} telemetry message(s) and ${drop.ack} ack(s) from the outbox: ${what}`);
    }
  }
}
