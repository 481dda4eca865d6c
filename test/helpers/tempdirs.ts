import { rmSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

const owned = new Set<string>();
let exitHookInstalled = false;

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Removes directories named `<prefix><pid>-*` under the system temp directory whose process is
 * gone. `bun test` does not emit the process 'exit' event, so a run that skipped its own cleanup
 * is tidied by the next one.
 */
async function sweepStale(prefix: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(tmpdir());
  } catch {
    return;
  }
  const pattern = new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(\\d+)-`);
  await Promise.all(
    names.map(async (name) => {
      const pid = Number(pattern.exec(name)?.[1]);
      if (!Number.isInteger(pid) || pid === process.pid || processAlive(pid)) return;
      await rm(join(tmpdir(), name), { recursive: true, force: true }).catch(() => {});
    }),
  );
}

/**
 * Creates `<tmpdir>/<prefix><pid>-XXXXXX`, removed by `removeTempDir`, by the process 'exit' event
 * where the runtime emits it, or else by a later call after this process is gone.
 */
export async function makeTempDir(prefix: string): Promise<string> {
  await sweepStale(prefix);
  const dir = await mkdtemp(join(tmpdir(), `${prefix}${process.pid}-`));
  owned.add(dir);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on("exit", () => {
      for (const left of owned) rmSync(left, { recursive: true, force: true });
    });
  }
  return dir;
}

export async function removeTempDir(dir: string): Promise<void> {
  owned.delete(dir);
  await rm(dir, { recursive: true, force: true });
}
