import { CURTAILMENT_ORDER, type CircuitSpec } from "./circuits.ts";
import type { CircuitReading } from "./site.ts";

/** What curtailment takes from one circuit. `finalKw` is the limit the circuit is held at. */
export interface CurtailmentStep {
  spec: CircuitSpec;
  originalKw: number;
  curtailedKw: number;
  finalKw: number;
}

export interface CurtailmentPlan {
  requestedKw: number;
  /** Sum of `curtailedKw`; below `requestedKw` when the site cannot shed enough. */
  achievedKw: number;
  steps: CurtailmentStep[];
}

/** Reductions smaller than this (1 W) count as met, so rounding noise does not add a step. */
const MET_EPSILON_KW = 0.001;

/**
 * Plans an event's curtailment from uncurtailed readings: walks the curtailment order, takes at
 * most each circuit's share of its present draw, and stops once the request is met. Critical and
 * switched-off circuits are never touched. A request the site cannot meet gives a partial plan.
 */
export function planCurtailment(readings: readonly CircuitReading[], requestedKw: number): CurtailmentPlan {
  const steps: CurtailmentStep[] = [];
  let remaining = requestedKw;
  for (const { id, share } of CURTAILMENT_ORDER) {
    if (remaining <= MET_EPSILON_KW) break;
    const reading = readings.find((candidate) => candidate.spec.id === id);
    if (!reading || reading.spec.critical || !reading.enabled || reading.powerKw <= 0) continue;
    const curtailedKw = Math.min(reading.powerKw * share, remaining);
    if (curtailedKw <= 0) continue;
    steps.push({ spec: reading.spec, originalKw: reading.powerKw, curtailedKw, finalKw: reading.powerKw - curtailedKw });
    remaining -= curtailedKw;
  }
  const achievedKw = steps.reduce((sum, step) => sum + step.curtailedKw, 0);
  return { requestedKw, achievedKw, steps };
}
