import { join } from "node:path";
import * as v from "valibot";
import { unixSeconds, type Clock } from "../clock.ts";
import type { VenConfig } from "../config/resolve.ts";
import type { TlsMaterial } from "../config/tls-files.ts";
import { describeError } from "../errors.ts";
import type { Logger } from "../logger.ts";
import type { Ack } from "../protocol/acks.ts";
import { offlineStatus, onlineStatus, StatusSchema, type OfflineReason } from "../protocol/status.ts";
import { formatIssues } from "../protocol/schema-helpers.ts";
import { TelemetrySchema } from "../protocol/telemetry.ts";
import { expandTopics, telemetryTopics, type Topics } from "../protocol/topics.ts";
import type { SiteModel } from "../simulator/site.ts";
import { ConnectionSupervisor, connectionOptionsFrom } from "../transport/supervisor.ts";
import type { Will } from "../transport/client-options.ts";
import { VERSION } from "../version.ts";
import { CommandProcessor, pingHandler, type OpHandler } from "./commands.ts";
import { DemandResponse } from "./events/demand-response.ts";
import { BUILD_TIME_MS } from "../build-info.ts";
import { FileDeadLetter, MemoryDeadLetter } from "../outbox/dead-letter.ts";
import { OutboxSender, type DeadLetterSink } from "../outbox/sender.ts";
import { FileOutbox, MemoryOutbox, type OutboxEntry, type OutboxStore } from "../outbox/store.ts";
import { HealthFile } from "./health.ts";
import { MemorySeqCounter, SeqCounter } from "./seq.ts";
import { buildTelemetry } from "./telemetry.ts";
import { IntervalLoop, nextTickOnGrid } from "./telemetry-loop.ts";

export interface AgentOptions {
  config: VenConfig;
  tls: TlsMaterial;
  clock: Clock;
  log: Logger;
  /** Identifies this process in the status message (host/pid/start). */
  instance: string;
  /** Op handlers beyond `ping`. */
  handlers?: Record<string, OpHandler>;
  random?: () => number;
  /** Store of durable messages waiting for their PUBACK; a file in the state directory by default. */
  outbox?: OutboxStore;
  deadLetter?: DeadLetterSink;
  /** Keeps `health.json` in the state directory current (default true). */
  healthFile?: boolean;
  /**
   * `memory` keeps the sequence number, event state, recent acks, outbox and dead letters in
   * memory and writes no health file, so the state directory is never touched. Simulated VENs use
   * it, and their state is lost at exit. Default `files`.
   */
  state?: "files" | "memory";
  /**
   * Puts telemetry ticks at clock times that are this many milliseconds past a whole multiple of
   * the interval, so a fleet can spread its VENs over the interval. Unset, the first tick comes
   * right after the first connect.
   */
  telemetryOffsetMs?: number;
}

/**
 * The VEN at work: keeps the connection, publishes telemetry every interval to every telemetry
 * topic, handles commands on the command topic and publishes their acks, and keeps the retained
 * status current.
 */
export class VenAgent {
  readonly topics: Topics;
  readonly site: SiteModel;
  readonly supervisor: ConnectionSupervisor;
  private readonly seq: SeqCounter | MemorySeqCounter;
  private readonly commands: CommandProcessor;
  private readonly demandResponse: DemandResponse;
  private readonly loop: IntervalLoop;
  private readonly log: Logger;
  private readonly publisher: OutboxSender;
  private readonly health: HealthFile | undefined;
  private waitingForClock = false;

  constructor(private readonly options: AgentOptions) {
    const { config, clock } = options;
    this.log = options.log;
    this.topics = expandTopics(config.topics, config.venId);
    this.demandResponse = new DemandResponse({
      config,
      clock,
      log: options.log,
      random: options.random ?? Math.random,
      publishAck: (ack) => void this.publishAck(ack),
      setIntervalS: (seconds) => this.loop.setIntervalMs(seconds * 1000),
      inMemory: options.state === "memory",
    });
    this.site = this.demandResponse.site;
    this.seq = options.state === "memory" ? new MemorySeqCounter() : new SeqCounter(config.stateDir, options.log.withTag("state"), unixSeconds(clock));
    this.commands = new CommandProcessor({
      venId: config.venId,
      now: () => unixSeconds(clock),
      log: options.log.withTag("cmd"),
      handlers: { ping: pingHandler, ...this.demandResponse.handlers, ...options.handlers },
      acks: this.demandResponse.acks,
    });

    this.supervisor = new ConnectionSupervisor({
      ...connectionOptionsFrom(config, config.venId, options.tls),
      // The VEN's own status topic shows another copy of this venId by its retained `instance`.
      subscriptions: [this.topics.command, this.topics.status],
      will: () => this.statusMessage("offline", "connection_lost"),
      onConnected: () => this.onConnected(),
      onMessage: (topic, payload, packet) => {
        if (topic === this.topics.command) void this.onCommand(topic, payload, packet.retain);
        else if (topic === this.topics.status) this.onStatus(payload);
      },
      clock,
      log: options.log.withTag("mqtt"),
      ...(options.random ? { random: options.random } : {}),
    });
    const outboxLimits = { maxMessages: 150_000, maxBytes: config.outbox.maxBytes, telemetryMaxAgeMs: config.outbox.telemetryMaxAgeMs, ackMaxAgeMs: config.outbox.ackMaxAgeMs };
    const inMemory = options.state === "memory";
    const store =
      options.outbox ??
      (inMemory
        ? new MemoryOutbox(outboxLimits)
        : new FileOutbox(join(config.stateDir, "outbox.jsonl"), outboxLimits, options.log.withTag("outbox"), () => clock.now()));
    this.publisher = new OutboxSender({
      store,
      supervisor: this.supervisor,
      clock,
      log: options.log.withTag("outbox"),
      drainRatePerSecond: config.outbox.drainRatePerSecond,
      deadLetter: options.deadLetter ?? (inMemory ? new MemoryDeadLetter() : new FileDeadLetter(config.stateDir)),
      ackTopics: new Set([this.topics.ack]),
    });
    this.health =
      options.healthFile === false || inMemory
        ? undefined
        : new HealthFile(config.stateDir, clock, { venId: config.venId, pid: process.pid, instance: options.instance, intervalS: config.intervalS });
    this.watchHealth();
    this.loop = new IntervalLoop(
      clock,
      config.intervalS * 1000,
      () => this.publishTelemetry(),
      (error) => this.log.error(`Telemetry tick failed: ${describeError(error)}`),
    );
  }

  start(): void {
    this.log.info(`VEN ${this.options.config.venId} starting (version ${VERSION}, instance ${this.options.instance})`);
    this.demandResponse.start();
    this.supervisor.start();
  }

  /**
   * Publishes the offline status, waits briefly for outstanding PUBACKs and disconnects cleanly.
   * Messages not acknowledged by then stay in the outbox for the next start.
   */
  async stop(drainTimeoutMs = 3000): Promise<void> {
    this.loop.stop();
    this.demandResponse.stop();
    await this.supervisor.stop({ final: this.statusMessage("offline", "shutdown"), drainTimeoutMs });
    this.publisher.stop();
    this.health?.update({ connected: false, stopped: true, outbox: this.outboxHealth() }, true);
    this.log.info(this.publisher.depth > 0 ? `Stopped; ${this.publisher.depth} message(s) wait in the outbox for the next start` : "Stopped");
  }

  /** Number of durable messages not yet acknowledged by the broker. */
  get outboxDepth(): number {
    return this.publisher.depth;
  }

  /** Calls `listener` with each durable message the broker acknowledged: backend telemetry or an ack. */
  onAcknowledged(listener: (entry: OutboxEntry) => void): void {
    this.publisher.onAcknowledged(listener);
  }

  private outboxHealth(): { depth: number; oldestAt: string | null } {
    const oldest = this.publisher.oldestCreatedAt;
    return { depth: this.publisher.depth, oldestAt: oldest === undefined ? null : new Date(oldest).toISOString() };
  }

  private watchHealth(): void {
    const health = this.health;
    if (!health) return;
    this.supervisor.onConnected(() => {
      const refused = [...this.supervisor.refusedSubscriptions.keys()];
      health.update({ connected: true, refusedSubscriptions: refused, lastError: refused.length > 0 ? `subscription rejected: ${refused.join(", ")}` : health.current.lastError });
    });
    this.supervisor.onDisconnected(({ cause }) => health.update({ connected: false, lastError: cause }));
    this.supervisor.onDiagnosis((found) => {
      if (found.kind === "takeover") health.update({ takeoverSuspected: found.message }, true);
      else health.update({ lastError: found.message }, true);
    });
    this.publisher.onAcknowledged((entry) => {
      if (entry.topic === this.topics.metering) {
        health.update({ lastTelemetryAckedAt: new Date(this.options.clock.now()).toISOString(), outbox: this.outboxHealth() });
      }
    });
  }

  /** Reports another copy of this venId: a retained `online` status from another instance. */
  private onStatus(payload: Buffer): void {
    let status;
    try {
      status = v.parse(StatusSchema, JSON.parse(payload.toString("utf8")));
    } catch {
      return;
    }
    if (status.venId !== this.options.config.venId || status.instance === this.options.instance || status.status !== "online") return;
    const message = `Another client is using venId ${status.venId}: instance ${status.instance} (version ${status.version}) reports itself online. Two processes with one client ID take each other's session over; stop one of them.`;
    this.log.error(message);
    this.health?.update({ takeoverSuspected: message }, true);
  }

  /** The sequence number of the last telemetry message made. */
  get lastSeq(): number {
    return this.seq.current;
  }

  private statusMessage(status: "online" | "offline", reason?: OfflineReason): Will {
    const fields = {
      venId: this.options.config.venId,
      timestamp: unixSeconds(this.options.clock),
      version: VERSION,
      instance: this.options.instance,
    };
    const payload = status === "online" ? onlineStatus(fields) : offlineStatus(fields, reason ?? "shutdown");
    return { topic: this.topics.status, payload: JSON.stringify(payload), retain: true };
  }

  /** Publishes the online status; the first connection also starts the telemetry loop, which then runs on. */
  private async onConnected(): Promise<void> {
    const status = this.statusMessage("online");
    const published = this.supervisor.publish(status.topic, status.payload, { retain: true });
    this.loop.start(this.firstTelemetryAt());
    await published;
  }

  /** Returns the first tick on the grid set by `telemetryOffsetMs`, or undefined for a tick right away. */
  private firstTelemetryAt(): number | undefined {
    const offsetMs = this.options.telemetryOffsetMs;
    if (offsetMs === undefined) return undefined;
    return nextTickOnGrid(this.options.clock.now(), this.options.config.intervalS * 1000, offsetMs);
  }

  private publishTelemetry(): void {
    const { config, clock } = this.options;
    // A device without a real-time clock may start in 1970, and the backend drops such timestamps.
    if (clock.now() < BUILD_TIME_MS) {
      if (!this.waitingForClock) {
        this.log.warn(`Waiting for the system clock: it reads ${new Date(clock.now()).toISOString()}, before this program was built; telemetry is held until the clock is set`);
        this.health?.update({ waitingForClock: true }, true);
      }
      this.waitingForClock = true;
      return;
    }
    if (this.waitingForClock) {
      this.waitingForClock = false;
      this.log.info("The system clock is set; telemetry resumes");
      this.health?.update({ waitingForClock: false }, true);
    }
    let payload: string;
    let seq: number;
    try {
      const { snapshot, event } = this.demandResponse.sample();
      seq = this.seq.next();
      const telemetry = buildTelemetry(
        snapshot,
        { venId: config.venId, seq, timestamp: unixSeconds(clock), legacyFields: config.legacyFields },
        this.log.withTag("telemetry"),
        event,
      );
      const checked = v.safeParse(TelemetrySchema, telemetry);
      if (!checked.success) {
        this.log.error(`Telemetry seq ${telemetry.seq} skipped, it breaks the contract: ${formatIssues(checked.issues)}`);
        return;
      }
      payload = JSON.stringify(telemetry);
    } catch (error) {
      this.log.error(`Telemetry sample failed: ${describeError(error)}`);
      return;
    }

    this.health?.update({ lastTelemetryPublishedAt: new Date(clock.now()).toISOString(), outbox: this.outboxHealth() });
    const description = `Telemetry seq ${seq}`;
    for (const topic of telemetryTopics(this.topics)) {
      if (topic === this.topics.metering) void this.publisher.durable(topic, payload, description);
      else void this.publisher.live(topic, payload, description);
    }
  }

  private async onCommand(topic: string, payload: Buffer, retained: boolean): Promise<void> {
    let ack: Ack | undefined;
    try {
      ack = await this.commands.handle(topic, payload, retained);
    } catch (error) {
      this.log.error(`Command on ${topic} could not be handled: ${describeError(error)}`);
      return;
    }
    if (!ack) return;
    await this.publishAck(ack);
  }

  private async publishAck(ack: Ack): Promise<void> {
    const correlation = JSON.stringify(ack.correlationId);
    const event = ack.event_id === undefined ? "" : `, event_id ${JSON.stringify(ack.event_id)}`;
    this.log.info(`Ack sent: ${ack.op} ${ack.status} (correlationId ${correlation}${event})`);
    await this.publisher.durable(this.topics.ack, JSON.stringify(ack), `Ack for ${ack.op} (correlationId ${correlation})`);
  }
}
