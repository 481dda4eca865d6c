import { renameSync } from "node:fs";
import type { Logger } from "../../logger.ts";
import { readTextIfExists, writeFileAtomic } from "../state-dir.ts";

/**
 * Reads a JSON state file. A missing file gives undefined. A file that cannot be parsed or fails
 * `accept` is renamed to `<name>.corrupt-<ms>`, logged, and also gives undefined, so a damaged
 * file never stops the VEN from starting.
 */
export function readStateJson<T>(path: string, nowMs: number, log: Logger, accept: (value: unknown) => value is T): T | undefined {
  let text: string | undefined;
  try {
    text = readTextIfExists(path);
  } catch (error) {
    log.warn(`State file ${path} could not be read (${(error as Error).message}); starting without it`);
    return undefined;
  }
  if (text === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (parsed !== undefined && accept(parsed)) return parsed;

  const aside = `${path}.corrupt-${nowMs}`;
  try {
    renameSync(path, aside);
    log.warn(`State file ${path} is damaged; moved it to ${aside} and started without it`);
  } catch (error) {
    log.warn(`State file ${path} is damaged and could not be moved aside (${(error as Error).message}); starting without it`);
  }
  return undefined;
}

/** Writes a JSON state file atomically; a failure is logged, not thrown. */
export function writeStateJson(path: string, value: unknown, log: Logger): void {
  try {
    writeFileAtomic(path, `${JSON.stringify(value)}\n`);
  } catch (error) {
    log.error(`State file ${path} could not be written: ${(error as Error).message}`);
  }
}
