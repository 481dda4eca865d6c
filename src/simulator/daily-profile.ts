import type { LoadEntry } from "../protocol/telemetry.ts";

/**
 * Typical share of each circuit's draw by hour of the day (0 to 23), relative to its average:
 * lights and the range peak in the evening, HVAC in the afternoon, the water heater in the morning
 * and evening, the EV charger at night. These are rounded shapes for a demonstration site, not
 * measured data.
 */
const HOURLY: Readonly<Partial<Record<LoadEntry["type"], readonly number[]>>> = {
  //       0    1    2    3    4    5    6    7    8    9   10   11   12   13   14   15   16   17   18   19   20   21   22   23
  hvac: [0.7, 0.6, 0.6, 0.6, 0.6, 0.7, 0.8, 0.9, 0.9, 1.0, 1.1, 1.2, 1.3, 1.4, 1.4, 1.4, 1.3, 1.2, 1.1, 1.0, 1.0, 0.9, 0.8, 0.7],
  heater: [0.5, 0.4, 0.4, 0.4, 0.5, 0.8, 1.4, 1.6, 1.3, 1.0, 0.9, 0.9, 0.9, 0.8, 0.8, 0.8, 0.9, 1.1, 1.4, 1.5, 1.3, 1.1, 0.8, 0.6],
  ev: [1.3, 1.3, 1.3, 1.3, 1.2, 1.1, 0.8, 0.6, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.6, 0.7, 0.9, 1.0, 1.1, 1.2, 1.3, 1.3, 1.3],
  dryer: [0.3, 0.2, 0.2, 0.2, 0.2, 0.3, 0.5, 0.8, 1.0, 1.2, 1.3, 1.3, 1.2, 1.1, 1.1, 1.2, 1.3, 1.4, 1.4, 1.3, 1.2, 1.0, 0.7, 0.4],
  range: [0.2, 0.2, 0.2, 0.2, 0.2, 0.3, 0.7, 1.2, 1.0, 0.6, 0.5, 0.9, 1.4, 1.0, 0.5, 0.5, 0.8, 1.6, 2.0, 1.6, 0.9, 0.5, 0.3, 0.2],
  lights: [0.4, 0.3, 0.3, 0.3, 0.3, 0.5, 0.9, 1.0, 0.7, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.6, 0.8, 1.2, 1.6, 1.8, 1.8, 1.6, 1.2, 0.7],
  outlets: [0.6, 0.5, 0.5, 0.5, 0.5, 0.6, 0.9, 1.1, 1.0, 1.0, 1.0, 1.0, 1.1, 1.0, 1.0, 1.0, 1.1, 1.3, 1.4, 1.4, 1.3, 1.2, 1.0, 0.8],
};

const MS_PER_HOUR = 3_600_000;

/**
 * Returns the factor for a circuit type at a time of day in milliseconds since the epoch (UTC),
 * interpolated between the whole hours. Types without a table (fridge, battery, PV) return 1.
 */
export function dailyFactor(type: LoadEntry["type"], simulatedMs: number): number {
  const table = HOURLY[type];
  if (!table) return 1;
  const hours = (((simulatedMs / MS_PER_HOUR) % 24) + 24) % 24;
  const hour = Math.floor(hours);
  const fraction = hours - hour;
  const current = table[hour]!;
  const next = table[(hour + 1) % 24]!;
  return current + (next - current) * fraction;
}
