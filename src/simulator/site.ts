import type { Clock } from "../clock.ts";
import type { PanelAmperage } from "../protocol/telemetry.ts";
import { Battery, type BatterySpec } from "./battery.ts";
import { CIRCUITS, PANEL_VOLTAGE, capacityKw, circuitsForPanel, type CircuitSpec } from "./circuits.ts";
import { dailyFactor } from "./daily-profile.ts";
import { createPrng } from "./prng.ts";

/** Simulated time between two random-walk steps. */
export const WALK_STEP_MS = 1000;
/** Largest change of a circuit's draw fraction per step. */
const WALK_STEP_SIZE = 0.02;
/**
 * After a long pause (a suspended laptop, a clock jump), the walk catches up this many steps at
 * most, times the time scale.
 */
const MAX_CATCH_UP_STEPS = 3600;
/** Largest time scale: one simulated day per real minute. */
export const MAX_TIME_SCALE = 1440;
/** The panel's total draw is kept under this share of its rating, as a real main breaker would. */
const PANEL_HEADROOM = 0.95;

export interface CircuitReading {
  spec: CircuitSpec;
  enabled: boolean;
  /** Present draw in kW; 0 while disabled. */
  powerKw: number;
}

export interface BatteryReading {
  spec: BatterySpec;
  /** Positive while charging, negative while discharging, in kW. */
  powerKw: number;
  /** State of charge, 0 to 1. */
  soc: number;
}

export interface SiteSnapshot {
  timestampMs: number;
  panelAmperage: PanelAmperage;
  panelVoltage: number;
  circuits: CircuitReading[];
  /** Present only when the site has a battery. */
  battery?: BatteryReading | undefined;
}

export interface SiteModelOptions {
  seed: number;
  panelAmperage: PanelAmperage;
  clock: Clock;
  /** No battery when unset. */
  battery?: BatterySpec | undefined;
  /**
   * How much faster than real time the load pattern moves: 60 runs a simulated hour per real
   * minute. Timestamps and battery energy stay in real time. Default 1.
   */
  timeScale?: number | undefined;
}

/** A limit on one circuit's draw, in kW, until a time in Unix milliseconds (or for good). */
interface CircuitLimit {
  maxKw: number;
  untilMs: number;
}

interface CircuitState {
  spec: CircuitSpec;
  enabled: boolean;
  fraction: number;
}

/**
 * The simulated household panel: each enabled circuit draws a fraction of its capacity that
 * moves as a bounded random walk, one step per simulated second. For a given seed and sequence of
 * clock readings, the readings are always the same.
 *
 * Curtailment sits on top of the walk as limits: an event keeps each curtailed circuit at or
 * below its limit, and `shedLoad` adds a limit of its own; the lower one applies. The walk goes on
 * underneath, so the uncurtailed draw is always known.
 */
export class SiteModel {
  private readonly random: () => number;
  private readonly clock: Clock;
  private readonly states: CircuitState[];
  private panelAmperage: PanelAmperage;
  private stepsTaken = 0;
  private readonly startMs: number;
  private readonly timeScale: number;
  private eventLimits = new Map<string, number>();
  private readonly loadLimits = new Map<string, CircuitLimit>();
  private readonly batteryStore: Battery | undefined;
  private batteryDischargeKw = 0;
  private batteryUpdatedMs: number;

  constructor(options: SiteModelOptions) {
    this.random = createPrng(options.seed);
    this.clock = options.clock;
    this.panelAmperage = options.panelAmperage;
    this.startMs = options.clock.now();
    this.timeScale = options.timeScale ?? 1;
    this.batteryStore = options.battery ? new Battery(options.battery) : undefined;
    this.batteryUpdatedMs = this.startMs;
    this.states = CIRCUITS.map((spec) => {
      const [low, high] = spec.drawBand;
      return { spec, enabled: spec.enabledByDefault, fraction: low + this.random() * (high - low) };
    });
  }

  get amperage(): PanelAmperage {
    return this.panelAmperage;
  }

  setPanelAmperage(amperage: PanelAmperage): void {
    this.panelAmperage = amperage;
  }

  get hasBattery(): boolean {
    return this.batteryStore !== undefined;
  }

  /** Ids of the circuits this panel has, in panel order. */
  circuitIds(): string[] {
    return circuitsForPanel(this.panelAmperage).map((spec) => spec.id);
  }

  /** Switches a circuit on or off. Returns false when the panel has no such circuit. */
  setEnabled(id: string, enabled: boolean): boolean {
    const state = this.stateOf(id);
    if (!state) return false;
    state.enabled = enabled;
    return true;
  }

  /** Holds each listed circuit at or below its limit in kW, replacing the previous event's limits. */
  setEventLimits(limits: ReadonlyMap<string, number>): void {
    this.eventLimits = new Map(limits);
  }

  clearEventLimits(): void {
    this.eventLimits = new Map();
  }

  /** Holds one circuit at or below `maxKw` until `untilMs` (Unix milliseconds). */
  setLoadLimit(id: string, maxKw: number, untilMs: number): void {
    this.loadLimits.set(id, { maxKw, untilMs });
  }

  /** Returns the `shedLoad` limits still in force, by circuit id. */
  activeLoadLimits(): Map<string, { maxKw: number; untilMs: number }> {
    this.dropExpiredLoadLimits(this.clock.now());
    return new Map(this.loadLimits);
  }

  /** Asks the battery to discharge up to `kw` from the next sample on; 0 lets it recharge. */
  setBatteryDischarge(kw: number): void {
    this.batteryDischargeKw = Math.max(0, kw);
  }

  /** Returns the discharge in kW the battery could give now for a shortfall of `requestedKw`. */
  batteryAvailableKw(requestedKw: number): number {
    return this.batteryStore?.availableDischargeKw(requestedKw) ?? 0;
  }

  /**
   * Returns the readings as they would be without any curtailment or battery: the state events
   * are planned from.
   */
  uncurtailed(): CircuitReading[] {
    const now = this.clock.now();
    this.advanceTo(now);
    return this.readings(new Map());
  }

  /**
   * Advances the walk and the battery to the clock's present time and returns every circuit the
   * panel has, with curtailment limits applied.
   */
  sample(): SiteSnapshot {
    const now = this.clock.now();
    this.advanceTo(now);
    this.dropExpiredLoadLimits(now);

    const limits = new Map(this.eventLimits);
    for (const [id, limit] of this.loadLimits) limits.set(id, Math.min(limits.get(id) ?? Number.POSITIVE_INFINITY, limit.maxKw));
    const circuits = this.readings(limits);
    const snapshot: SiteSnapshot = { timestampMs: now, panelAmperage: this.panelAmperage, panelVoltage: PANEL_VOLTAGE, circuits };
    if (this.batteryStore) snapshot.battery = this.updateBattery(now, circuits);
    return snapshot;
  }

  /**
   * Returns the simulated time of day. It starts at the wall-clock time and runs `timeScale` times
   * faster, so a demo can show a whole day of load pattern in minutes. Hours are UTC.
   */
  simulatedTime(): number {
    // Counted in whole walk steps, so readings change only when the walk moves.
    return this.startMs + this.stepsTaken * WALK_STEP_MS;
  }

  private readings(limits: ReadonlyMap<string, number>): CircuitReading[] {
    const available = new Set(this.circuitIds());
    const simulatedMs = this.simulatedTime();
    const circuits = this.states
      .filter((state) => available.has(state.spec.id))
      .map((state) => {
        const capacity = capacityKw(state.spec);
        const drawKw = Math.min(capacity, state.fraction * capacity * dailyFactor(state.spec.type, simulatedMs));
        return { spec: state.spec, enabled: state.enabled, powerKw: state.enabled ? drawKw : 0 };
      });

    const panelMaxKw = (this.panelAmperage * PANEL_VOLTAGE) / 1000;
    const total = circuits.reduce((sum, reading) => sum + reading.powerKw, 0);
    const headroom = panelMaxKw * PANEL_HEADROOM;
    if (total > headroom) {
      const scale = headroom / total;
      for (const reading of circuits) reading.powerKw *= scale;
    }
    for (const reading of circuits) {
      const limit = limits.get(reading.spec.id);
      if (limit !== undefined) reading.powerKw = Math.min(reading.powerKw, Math.max(0, limit));
    }
    return circuits;
  }

  /** Integrates the battery's power since the last sample, then sets its power for the next one. */
  private updateBattery(now: number, circuits: readonly CircuitReading[]): BatteryReading {
    const battery = this.batteryStore!;
    battery.advance(now - this.batteryUpdatedMs);
    this.batteryUpdatedMs = now;
    if (this.batteryDischargeKw > 0) {
      // The battery covers the site's own use and never exports.
      const siteKw = circuits.reduce((sum, reading) => sum + reading.powerKw, 0);
      battery.discharge(Math.min(this.batteryDischargeKw, siteKw));
    } else {
      battery.recharge();
    }
    return { spec: battery.spec, powerKw: battery.powerKw, soc: battery.soc };
  }

  private dropExpiredLoadLimits(now: number): void {
    for (const [id, limit] of this.loadLimits) if (limit.untilMs <= now) this.loadLimits.delete(id);
  }

  private stateOf(id: string): CircuitState | undefined {
    if (!this.circuitIds().includes(id)) return undefined;
    return this.states.find((state) => state.spec.id === id);
  }

  private advanceTo(now: number): void {
    const due = Math.floor(((now - this.startMs) * this.timeScale) / WALK_STEP_MS);
    let steps = due - this.stepsTaken;
    if (steps <= 0) return;
    const maxSteps = MAX_CATCH_UP_STEPS * Math.max(1, Math.ceil(this.timeScale));
    if (steps > maxSteps) steps = maxSteps;
    for (let step = 0; step < steps; step++) {
      for (const state of this.states) this.stepCircuit(state);
    }
    this.stepsTaken = due;
  }

  private stepCircuit(state: CircuitState): void {
    const [low, high] = state.spec.drawBand;
    let next = state.fraction + (this.random() * 2 - 1) * WALK_STEP_SIZE;
    // Reflect at the band edges so the walk stays inside without sticking to a bound.
    if (next < low) next = low + (low - next);
    if (next > high) next = high - (next - high);
    state.fraction = Math.min(high, Math.max(low, next));
  }
}
