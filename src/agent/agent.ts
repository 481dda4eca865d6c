import * as v from "valibot";
import { unixSeconds, type Clock } from "../clock.ts";
import type { VenConfig } from "../config/resolve.ts";
import type { TlsMaterial } from "../config/tls-files.ts";
import { describeError } from "../errors.ts";
import type { Logger } from "../logger.ts";
import type { Ack } from "../protocol/acks.ts";
import { offlineStatus, onlineStatus, type OfflineReason } from "../protocol/status.ts";
import { formatIssues } from "../protocol/schema-helpers.ts";
import { TelemetrySchema } from "../protocol/telemetry.ts";
import { expandTopics, telemetryTopics, type Topics } from "../protocol/topics.ts";
import { SiteModel } from "../simulator/site.ts";
import { ConnectionSupervisor } from "../transport/supervisor.ts";
import type { Will } from "../transport/client-options.ts";
import { VERSION } from "../version.ts";
import { CommandProcessor, pingHandler, type OpHandler } from "./commands.ts";
import { DirectPublisher, type MessagePublisher } from "./publisher.ts";
import { SeqCounter } from "./seq.ts";
import { buildTelemetry } from "./telemetry.ts";
import { IntervalLoop } from "./telemetry-loop.ts";

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
  /** A connection that stays up this long resets the reconnect backoff. */
  stableAfterMs?: number;
}

/**
 * The VEN at work: keeps the connection, publishes telemetry every interval to every telemetry
 * topic, handles commands on the command topic and publishes their acks, and keeps the retained status current.
 */
export class VenAgent {
  readonly topics: Topics;
  readonly site: SiteModel;
  readonly supervisor: ConnectionSupervisor;
  private readonly seq: SeqCounter;
  private readonly commands: CommandProcessor;
  private readonly loop: IntervalLoop;
  private readonly log: Logger;
  private readonly publisher: MessagePublisher;
  private unsentTelemetry = 0;

  constructor(private readonly options: AgentOptions) {
    const { config, clock } = options;
    this.log = options.log;
    this.topics = expandTopics(config.topics, config.venId);
    this.site = new SiteModel({ seed: config.seed, panelAmperage: config.panelAmps, clock });
    this.seq = new SeqCounter(config.stateDir, options.log.withTag("state"), unixSeconds(clock));
    this.commands = new CommandProcessor({
      venId: config.venId,
      now: () => unixSeconds(clock),
      log: options.log.withTag("cmd"),
      handlers: { ping: pingHandler, ...options.handlers },
    });

    this.supervisor = new ConnectionSupervisor({
      broker: config.broker,
      clientId: config.venId,
      tls: options.tls,
      insecure: config.tls.insecure,
      username: config.username,
      password: config.password,
      keepaliveS: config.keepaliveS,
      mqttVersion: config.mqttVersion,
      reconnect: config.reconnect,
      subscriptions: [this.topics.command],
      will: () => this.statusMessage("offline", "connection_lost"),
      onConnected: () => this.onConnected(),
      onMessage: (topic, payload, packet) => {
        if (topic === this.topics.command) void this.onCommand(topic, payload, packet.retain);
      },
      clock,
      log: options.log.withTag("mqtt"),
      ...(options.random ? { random: options.random } : {}),
      ...(options.stableAfterMs === undefined ? {} : { stableAfterMs: options.stableAfterMs }),
    });
    this.publisher = new DirectPublisher(this.supervisor, options.log.withTag("publish"));
    this.loop = new IntervalLoop(
      clock,
      config.intervalS * 1000,
      () => this.publishTelemetry(),
      (error) => this.log.error(`Telemetry tick failed: ${describeError(error)}`),
    );
  }

  start(): void {
    this.log.info(`VEN ${this.options.config.venId} starting (version ${VERSION}, instance ${this.options.instance})`);
    this.supervisor.start();
  }

  /** Publishes the offline status, waits briefly for outstanding PUBACKs and disconnects cleanly. */
  async stop(drainTimeoutMs = 3000): Promise<void> {
    this.loop.stop();
    await this.supervisor.stop({ final: this.statusMessage("offline", "shutdown"), drainTimeoutMs });
    this.log.info("Stopped");
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
    this.loop.start();
    await published;
  }

  private publishTelemetry(): void {
    const { config, clock } = this.options;
    let payload: string;
    let seq: number;
    try {
      const snapshot = this.site.sample();
      seq = this.seq.next();
      const telemetry = buildTelemetry(
        snapshot,
        { venId: config.venId, seq, timestamp: unixSeconds(clock), legacyFields: config.legacyFields },
        this.log.withTag("telemetry"),
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

    if (!this.supervisor.connected) {
      this.unsentTelemetry++;
      this.log.debug(`Telemetry seq ${seq} not sent: not connected (${this.unsentTelemetry} since the last connection)`);
      return;
    }
    if (this.unsentTelemetry > 0) {
      this.log.warn(`${this.unsentTelemetry} telemetry sample(s) were made while disconnected and not sent`);
      this.unsentTelemetry = 0;
    }
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
    const correlation = JSON.stringify(ack.correlationId);
    this.log.info(`Ack sent: ${ack.op} ${ack.status} (correlationId ${correlation})`);
    await this.publisher.durable(this.topics.ack, JSON.stringify(ack), `Ack for ${ack.op} (correlationId ${correlation})`);
  }
}
