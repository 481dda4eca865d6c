import { VenAgent } from "../agent/agent.ts";
import type { Clock } from "../clock.ts";
import type { VenConfig } from "../config/resolve.ts";
import type { TlsMaterial } from "../config/tls-files.ts";
import type { Logger } from "../logger.ts";
import { ConnectPacer } from "./pacer.ts";

export interface FleetOptions {
  /** Settings shared by every VEN; the venId and seed are replaced per VEN. */
  config: VenConfig;
  venIds: readonly string[];
  /** The seed of each VEN's site model. */
  seedOf: (venId: string, index: number) => number;
  /** The TLS files of each VEN, already read and checked. */
  tlsOf: (venId: string) => TlsMaterial;
  /** Most first connects started per second. */
  connectRatePerSecond: number;
  clock: Clock;
  /** Parent of each VEN's logger, which is tagged with the venId. */
  venLog: Logger;
  /** Identifies this process in every VEN's status message. */
  instance: string;
  random?: () => number;
}

/** VEN `index` of `count` ticks index/count of the way into each interval, so the fleet publishes at an even rate. */
export function telemetryOffsetMs(index: number, count: number, intervalMs: number): number {
  return Math.floor((index * intervalMs) / count);
}

/** Counters of the whole fleet; telemetry and acks count messages the broker acknowledged. */
export interface FleetCounters {
  vens: number;
  /** VENs whose first connect has been started. */
  started: number;
  connected: number;
  /** VENs that have connected at least once. */
  everConnected: number;
  telemetryPublished: number;
  telemetryAcknowledged: number;
  acksSent: number;
  /** Connections made after a VEN's first one. */
  reconnects: number;
  /** Failed connection attempts and lost connections. */
  connectionErrors: number;
  /** Clock time of the first start and of the last VEN's first connection, once all connected. */
  firstStartAt: number | undefined;
  lastFirstConnectAt: number | undefined;
}

/**
 * Runs many complete VENs in one process, each a VenAgent with its own client ID, site model and
 * in-memory state. First connects are paced by a ConnectPacer; reconnects after a loss follow
 * each VEN's own backoff and are not paced. Telemetry ticks are spread evenly over the interval.
 */
export class SimulatedFleet {
  private readonly agents: (VenAgent | undefined)[];
  private readonly pacer: ConnectPacer;
  private readonly counters: Omit<FleetCounters, "vens" | "started" | "telemetryPublished">;
  private stopping = false;

  constructor(private readonly options: FleetOptions) {
    this.agents = new Array(options.venIds.length).fill(undefined);
    this.pacer = new ConnectPacer(options.clock, options.connectRatePerSecond);
    this.counters = {
      connected: 0,
      everConnected: 0,
      telemetryAcknowledged: 0,
      acksSent: 0,
      reconnects: 0,
      connectionErrors: 0,
      firstStartAt: undefined,
      lastFirstConnectAt: undefined,
    };
  }

  /** Queues every VEN's start; they connect at the configured rate. */
  start(): void {
    this.options.venIds.forEach((_, index) => this.pacer.add(() => this.startVen(index)));
  }

  /** Returns the VEN with this venId, once it has started. */
  agent(venId: string): VenAgent | undefined {
    const index = this.options.venIds.indexOf(venId);
    return index < 0 ? undefined : this.agents[index];
  }

  get counts(): FleetCounters {
    let telemetryPublished = 0;
    for (const agent of this.agents) telemetryPublished += agent?.lastSeq ?? 0;
    return { vens: this.options.venIds.length, started: this.pacer.started, telemetryPublished, ...this.counters };
  }

  /**
   * Stops every started VEN at once: each publishes its offline status, waits up to
   * `drainTimeoutMs` for PUBACKs and disconnects. VENs not started yet never start.
   */
  async stop(drainTimeoutMs = 3000): Promise<void> {
    this.stopping = true;
    this.pacer.stop();
    await Promise.all(this.agents.map((agent) => agent?.stop(drainTimeoutMs)));
  }

  private startVen(index: number): void {
    if (this.stopping) return;
    const { options, counters } = this;
    const venId = options.venIds[index]!;
    const intervalMs = options.config.intervalS * 1000;
    const agent = new VenAgent({
      config: { ...options.config, venId, seed: options.seedOf(venId, index) },
      tls: options.tlsOf(venId),
      clock: options.clock,
      log: options.venLog.withTag(venId),
      instance: options.instance,
      state: "memory",
      telemetryOffsetMs: telemetryOffsetMs(index, options.venIds.length, intervalMs),
      ...(options.random ? { random: options.random } : {}),
    });
    this.agents[index] = agent;

    // The supervisor reports a connection once its subscriptions are done, and a loss whenever
    // the socket closes, also before that point; only connections reported up are counted down.
    let up = false;
    let connectedBefore = false;
    agent.supervisor.onConnected(() => {
      up = true;
      counters.connected++;
      if (connectedBefore) {
        counters.reconnects++;
        return;
      }
      connectedBefore = true;
      counters.everConnected++;
      if (counters.everConnected === options.venIds.length) counters.lastFirstConnectAt = options.clock.now();
    });
    agent.supervisor.onDisconnected(() => {
      counters.connectionErrors++;
      if (up) counters.connected--;
      up = false;
    });
    agent.onAcknowledged((entry) => {
      if (entry.kind === "ack") counters.acksSent++;
      else counters.telemetryAcknowledged++;
    });

    counters.firstStartAt ??= options.clock.now();
    agent.start();
  }
}
