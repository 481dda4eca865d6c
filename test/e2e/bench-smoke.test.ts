import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { BUILT_BINARY, assertPrerequisites, skipEndToEnd } from "../helpers/binary.ts";
import { makeTempDir, removeTempDir } from "../helpers/tempdirs.ts";

const HARNESS = resolve(import.meta.dir, "../bench/run.ts");
let dir: string;

describe.skipIf(skipEndToEnd())("bench harness smoke", () => {
  beforeAll(async () => {
    assertPrerequisites();
    dir = await makeTempDir("ven-bench-smoke-");
  });

  afterAll(async () => {
    await removeTempDir(dir);
  });

  test("quick roundtrip and outbox tables", async () => {
    const output = join(dir, "RESULTS.md");
    const child = Bun.spawn(["bun", HARNESS], {
      env: { ...process.env, BENCH: "roundtrip,outbox", BENCH_QUICK: "1", BENCH_OUTPUT: output, VEN_BENCH_BINARY: BUILT_BINARY },
      stdout: "pipe",
      stderr: "pipe",
    });
    const killer = setTimeout(() => child.kill("SIGKILL"), 50_000);
    const [code, stderr] = await Promise.all([child.exited, new Response(child.stderr).text()]);
    clearTimeout(killer);

    expect(code, stderr).toBe(0);
    const report = await readFile(output, "utf8");
    expect(report).toContain("## Machine");
    expect(report).toContain("Quick mode");
    expect(report).toMatch(/^\| 1\/s \| 2 \| median \(ms\) \| \d+\.\d+ \|/m);
    expect(report).toMatch(/^\| 100\/s \| 100 \| lost \(no ack in 5 s\) \| 0 \|/m);
    // 500 stored messages drained with none lost.
    expect(report).toMatch(/^\| 500 \| 100 \| [\d.]+ \| [\d.]+ \| [\d.]+ \| 0 \|/m);
  }, 60_000);
});
