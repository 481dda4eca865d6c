import type { LoadEntry, PanelAmperage } from "../protocol/telemetry.ts";

/** Every circuit of the US residential panel, 240 V. Capacity = breaker amps × 240 V / 1000. */
export const PANEL_VOLTAGE = 240;

export interface CircuitSpec {
  id: string;
  name: string;
  type: LoadEntry["type"];
  breakerAmps: number;
  /** Critical circuits are never shed. */
  critical: boolean;
  /** Smallest main breaker, in A, on which this circuit exists. */
  minPanelAmps: PanelAmperage;
  enabledByDefault: boolean;
  /** Integer rank reported in `loads[].priority`: 1 is the most important. */
  priority: number;
  /** Range of the fraction of capacity the circuit draws while enabled. */
  drawBand: readonly [number, number];
}

export const CIRCUITS: readonly CircuitSpec[] = [
  { id: "hvac1", name: "HVAC", type: "hvac", breakerAmps: 30, critical: true, minPanelAmps: 100, enabledByDefault: true, priority: 1, drawBand: [0.25, 0.75] },
  { id: "heater1", name: "Water Heater", type: "heater", breakerAmps: 30, critical: false, minPanelAmps: 100, enabledByDefault: true, priority: 5, drawBand: [0.15, 0.6] },
  { id: "ev1", name: "EV Charger", type: "ev", breakerAmps: 50, critical: false, minPanelAmps: 150, enabledByDefault: false, priority: 8, drawBand: [0.6, 0.95] },
  { id: "dryer1", name: "Dryer", type: "dryer", breakerAmps: 30, critical: false, minPanelAmps: 100, enabledByDefault: true, priority: 7, drawBand: [0.05, 0.55] },
  { id: "range1", name: "Range", type: "range", breakerAmps: 40, critical: false, minPanelAmps: 150, enabledByDefault: true, priority: 6, drawBand: [0.05, 0.45] },
  { id: "lights1", name: "Lighting", type: "lights", breakerAmps: 15, critical: false, minPanelAmps: 100, enabledByDefault: true, priority: 3, drawBand: [0.1, 0.6] },
  { id: "outlets1", name: "Outlets", type: "outlets", breakerAmps: 20, critical: false, minPanelAmps: 100, enabledByDefault: true, priority: 4, drawBand: [0.1, 0.5] },
  { id: "fridge1", name: "Refrigerator", type: "fridge", breakerAmps: 15, critical: true, minPanelAmps: 100, enabledByDefault: true, priority: 2, drawBand: [0.2, 0.5] },
];

/**
 * Share of a circuit's present draw an event may shed, in curtailment order. Circuits not listed
 * (the critical ones) are never shed.
 */
export const CURTAILMENT_ORDER: readonly { id: string; share: number }[] = [
  { id: "ev1", share: 1 },
  { id: "heater1", share: 1 },
  { id: "dryer1", share: 1 },
  { id: "range1", share: 0.8 },
  { id: "outlets1", share: 0.7 },
  { id: "lights1", share: 0.5 },
];

export function capacityKw(spec: CircuitSpec): number {
  return (spec.breakerAmps * PANEL_VOLTAGE) / 1000;
}

export function shedShare(id: string): number {
  return CURTAILMENT_ORDER.find((entry) => entry.id === id)?.share ?? 0;
}

export function circuitsForPanel(panelAmps: PanelAmperage): CircuitSpec[] {
  return CIRCUITS.filter((spec) => panelAmps >= spec.minPanelAmps);
}
