import type { Clock } from "../clock.ts";
import type { PanelAmperage } from "../protocol/telemetry.ts";
import { CIRCUITS, PANEL_VOLTAGE, capacityKw, circuitsForPanel, type CircuitSpec } from "./circuits.ts";
import { createPrng } from "./prng.ts";

/** Simulated time between two random-walk steps. */
export const WALK_STEP_MS = 1000;
/** Largest change of a circuit's draw fraction per step. */
const WALK_STEP_SIZE = 0.02;
/** After a long pause (a suspended laptop, a clock jump), the walk catches up this many steps at most. */
const MAX_CATCH_UP_STEPS = 3600;
/** The panel's total draw is kept under this share of its rating, as a real main breaker would. */
const PANEL_HEADROOM = 0.95;

export interface CircuitReading {
  spec: CircuitSpec;
  enabled: boolean;
  /** Present draw in kW; 0 while disabled. */
  powerKw: number;
}

export interface SiteSnapshot {
  timestampMs: number;
  panelAmperage: PanelAmperage;
  panelVoltage: number;
  circuits: CircuitReading[];
}

export interface SiteModelOptions {
  seed: number;
  panelAmperage: PanelAmperage;
  clock: Clock;
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
 */
export class SiteModel {
  private readonly random: () => number;
  private readonly clock: Clock;
  private readonly states: CircuitState[];
  private panelAmperage: PanelAmperage;
  private stepsTaken = 0;
  private readonly startMs: number;

  constructor(options: SiteModelOptions) {
    this.random = createPrng(options.seed);
    this.clock = options.clock;
    this.panelAmperage = options.panelAmperage;
    this.startMs = options.clock.now();
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

  /** Advances the walk to the clock's present time and returns every circuit the panel has. */
  sample(): SiteSnapshot {
    const now = this.clock.now();
    this.advanceTo(now);

    const available = new Set(circuitsForPanel(this.panelAmperage).map((spec) => spec.id));
    const circuits = this.states
      .filter((state) => available.has(state.spec.id))
      .map((state) => ({
        spec: state.spec,
        enabled: state.enabled,
        powerKw: state.enabled ? state.fraction * capacityKw(state.spec) : 0,
      }));

    const panelMaxKw = (this.panelAmperage * PANEL_VOLTAGE) / 1000;
    const total = circuits.reduce((sum, reading) => sum + reading.powerKw, 0);
    const limit = panelMaxKw * PANEL_HEADROOM;
    if (total > limit) {
      const scale = limit / total;
      for (const reading of circuits) reading.powerKw *= scale;
    }

    return { timestampMs: now, panelAmperage: this.panelAmperage, panelVoltage: PANEL_VOLTAGE, circuits };
  }

  private advanceTo(now: number): void {
    const due = Math.floor((now - this.startMs) / WALK_STEP_MS);
    let steps = due - this.stepsTaken;
    if (steps <= 0) return;
    if (steps > MAX_CATCH_UP_STEPS) steps = MAX_CATCH_UP_STEPS;
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
