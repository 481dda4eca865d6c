import { UsageError } from "../errors.ts";

/** Digits of the number in a simulated venId; more are used when the numbers need them. */
export const ID_DIGITS = 6;
/** The longest venId that AWS IoT Core accepts as a client ID. */
const MAX_VEN_ID_LENGTH = 128;
const PREFIX_PATTERN = /^[A-Za-z0-9:_-]*$/;

export interface IdRange {
  prefix: string;
  /** Numbers before the first one used: offset 0 starts at `<prefix>-000001`. */
  offset: number;
  count: number;
}

/**
 * Returns the venIds `<prefix>-<number>` for numbers offset + 1 to offset + count, zero-padded
 * to six digits. Every process given the same range gets the same ids, so machines can split a
 * fleet by giving each its own offset.
 */
export function simulatedVenIds(range: IdRange): string[] {
  checkIdRange(range);
  const ids: string[] = [];
  for (let index = 0; index < range.count; index++) ids.push(simulatedVenId(range.prefix, range.offset + index + 1));
  return ids;
}

export function simulatedVenId(prefix: string, number: number): string {
  return `${prefix}-${String(number).padStart(ID_DIGITS, "0")}`;
}

/** Throws a UsageError when an id of the range would not be a valid venId. */
export function checkIdRange(range: IdRange): void {
  if (range.prefix === "" || !PREFIX_PATTERN.test(range.prefix)) {
    throw new UsageError(`--id-prefix must be 1 or more characters from A-Z a-z 0-9 : _ -; got ${JSON.stringify(range.prefix)}`, {
      hint: "Example: --id-prefix sim",
    });
  }
  const longest = simulatedVenId(range.prefix, range.offset + range.count);
  if (longest.length > MAX_VEN_ID_LENGTH) {
    throw new UsageError(`--id-prefix is too long: the venId ${longest.slice(0, 40)}… has ${longest.length} characters, and at most ${MAX_VEN_ID_LENGTH} are allowed`);
  }
}
