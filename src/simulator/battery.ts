/** Size of the optional home battery. */
export interface BatterySpec {
  capacityKwh: number;
  /** Largest charge or discharge power, in kW. */
  maxPowerKw: number;
}

export const BATTERY_ID = "battery1";
export const BATTERY_NAME = "Battery";

const MS_PER_HOUR = 3_600_000;

/**
 * A battery as an energy store. Its power is positive while charging (the site imports it) and
 * negative while discharging, and is integrated over time into the stored energy. The energy
 * stays between empty and full, and power that would go past either end is cut off.
 */
export class Battery {
  private energyKwh: number;
  private power = 0;

  constructor(
    readonly spec: BatterySpec,
    initialSoc = 1,
  ) {
    this.energyKwh = spec.capacityKwh * Math.min(1, Math.max(0, initialSoc));
  }

  /** State of charge from 0 (empty) to 1 (full). */
  get soc(): number {
    return this.spec.capacityKwh > 0 ? this.energyKwh / this.spec.capacityKwh : 0;
  }

  /** Present power in kW: positive while charging, negative while discharging. */
  get powerKw(): number {
    return this.power;
  }

  /** Applies the present power for `elapsedMs` to the stored energy. */
  advance(elapsedMs: number): void {
    if (elapsedMs <= 0) return;
    const energy = this.energyKwh + (this.power * elapsedMs) / MS_PER_HOUR;
    this.energyKwh = Math.min(this.spec.capacityKwh, Math.max(0, energy));
  }

  /** Returns the discharge power in kW the battery can give now, up to `requestedKw`. */
  availableDischargeKw(requestedKw: number): number {
    if (this.energyKwh <= 0) return 0;
    return Math.max(0, Math.min(requestedKw, this.spec.maxPowerKw));
  }

  /** Discharges at up to `kw` (limited by the maximum power and by what is stored). */
  discharge(kw: number): void {
    const available = this.availableDischargeKw(kw);
    this.power = available > 0 ? -available : 0;
  }

  /** Charges at the maximum power until full. */
  recharge(): void {
    this.power = this.energyKwh < this.spec.capacityKwh ? this.spec.maxPowerKw : 0;
  }
}
