import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { join } from "node:path";
import { ConfigError } from "../errors.ts";

/** Creates the state directory (mode 0700: it will hold the outbox and event state). */
export function ensureStateDir(path: string): void {
  try {
    mkdirSync(path, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new ConfigError(
      `State directory ${path} could not be created: ${(error as Error).message}. Fix: pass --state-dir DIR or set VEN_STATE_DIR to a writable directory.`,
    );
  }
}

/**
 * Replaces a file's content atomically: writes a temporary file, flushes it to disk, then renames
 * it over the old one, so a crash leaves either the old or the new content, never a mix.
 */
export function writeFileAtomic(path: string, content: string): void {
  const temporary = `${path}.${process.pid}.tmp`;
  const fd = openSync(temporary, "w", 0o600);
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, path);
}

export function readTextIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

export function stateFile(stateDir: string, name: string): string {
  return join(stateDir, name);
}
