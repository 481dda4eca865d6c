import { UsageError } from "../errors.ts";

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Parses a duration given as seconds (`40`, `2.5`) or with a unit (`500ms`, `40s`, `5m`, `2h`)
 * and returns milliseconds. Throws a UsageError naming the flag for anything else, including
 * zero and negative values.
 */
export function parseDuration(flag: string, text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  const value = match ? Number(match[1]) * UNIT_MS[match[2] ?? "s"]! : Number.NaN;
  if (!match || !Number.isFinite(value) || value <= 0) {
    throw new UsageError(`--${flag} must be a positive duration in seconds or with a unit (ms, s, m, h); got ${JSON.stringify(text)}`, {
      hint: `Examples: --${flag} 40, --${flag} 40s, --${flag} 5m`,
    });
  }
  return Math.round(value);
}
