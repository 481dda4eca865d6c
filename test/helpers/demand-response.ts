import * as v from "valibot";
import { CommandProcessor, pingHandler } from "../../src/agent/commands.ts";
import { DemandResponse } from "../../src/agent/events/demand-response.ts";
import { buildTelemetry } from "../../src/agent/telemetry.ts";
import { resolveConfig, type VenConfig } from "../../src/config/resolve.ts";
import type { SettingKey } from "../../src/config/settings.ts";
import { createLogger } from "../../src/logger.ts";
import { AckSchema, type Ack } from "../../src/protocol/acks.ts";
import { formatIssues } from "../../src/protocol/schema-helpers.ts";
import { TelemetrySchema, type Telemetry } from "../../src/protocol/telemetry.ts";
import { ManualClock } from "./clock.ts";

export const DR_VEN_ID = "ven-home-042";

/** A fixed random source: every call returns the next value of the list, then repeats the last. */
export function sequenceRandom(values: number[]): () => number {
  let index = 0;
  return () => values[Math.min(index++, values.length - 1)] ?? 0;
}

export interface DrSetupOptions {
  stateDir: string;
  clock?: ManualClock;
  flags?: Partial<Record<SettingKey, string | boolean>>;
  random?: () => number;
}

/**
 * The demand-response side of a VEN on a manual clock, without MQTT: commands go in as JSON text,
 * acks come back checked against AckSchema, and acks the VEN makes on its own are collected.
 */
export class DrSetup {
  readonly clock: ManualClock;
  readonly config: VenConfig;
  readonly dr: DemandResponse;
  readonly processor: CommandProcessor;
  /** Acks made without a command, such as the expiry ack. */
  readonly ownAcks: Ack[] = [];
  readonly logs: string[] = [];
  intervalS: number;
  private seq = 0;

  constructor(options: DrSetupOptions) {
    this.clock = options.clock ?? new ManualClock();
    this.config = resolveConfig({
      flags: { venId: DR_VEN_ID, stateDir: options.stateDir, seed: "42", ...options.flags },
      env: {},
      cwd: options.stateDir,
      hostname: "dr-host",
      homeDir: options.stateDir,
    }).config;
    this.intervalS = this.config.intervalS;
    const log = createLogger({ level: "debug", format: "pretty", sink: { write: (text) => this.logs.push(text) } });
    this.dr = new DemandResponse({
      config: this.config,
      clock: this.clock,
      log,
      random: options.random ?? (() => 0.5),
      publishAck: (ack) => this.ownAcks.push(checkAck(ack)),
      setIntervalS: (seconds) => {
        this.intervalS = seconds;
      },
    });
    this.processor = new CommandProcessor({
      venId: DR_VEN_ID,
      now: () => Math.floor(this.clock.now() / 1000),
      log,
      handlers: { ping: pingHandler, ...this.dr.handlers },
      acks: this.dr.acks,
    });
  }

  /** Sends one command and returns its ack, which must exist and be valid. */
  async send(command: Record<string, unknown> | string): Promise<Ack> {
    const text = typeof command === "string" ? command : JSON.stringify(command);
    const ack = await this.processor.handle(`ven/cmd/${DR_VEN_ID}`, Buffer.from(text), false);
    if (!ack) throw new Error(`no ack for ${text}`);
    return checkAck(ack);
  }

  /** Takes a telemetry sample as the agent does every interval; it must validate. */
  telemetry(): Telemetry {
    const { snapshot, event } = this.dr.sample();
    this.seq += 1;
    const log = createLogger({ level: "silent", format: "pretty", sink: { write: () => undefined } });
    const telemetry = buildTelemetry(snapshot, { venId: DR_VEN_ID, seq: this.seq, timestamp: Math.floor(snapshot.timestampMs / 1000), legacyFields: true }, log, event);
    const checked = v.safeParse(TelemetrySchema, telemetry);
    if (!checked.success) throw new Error(`telemetry breaks TelemetrySchema: ${formatIssues(checked.issues)}`);
    return telemetry;
  }

  /** Samples telemetry every `intervalMs` for `count` samples, stepping the clock. */
  samples(count: number, intervalMs = 5000): Telemetry[] {
    const samples: Telemetry[] = [];
    for (let index = 0; index < count; index++) {
      samples.push(this.telemetry());
      this.clock.advance(intervalMs);
    }
    return samples;
  }
}

function checkAck(ack: Ack): Ack {
  const checked = v.safeParse(AckSchema, ack);
  if (!checked.success) throw new Error(`ack breaks AckSchema: ${formatIssues(checked.issues)}: ${JSON.stringify(ack)}`);
  return ack;
}
