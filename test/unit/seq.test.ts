import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SEQ_FILE, SeqCounter } from "../../src/agent/seq.ts";
import { ConfigError } from "../../src/errors.ts";
import { createLogger } from "../../src/logger.ts";
import { makeTempDir, removeTempDir } from "../helpers/tempdirs.ts";

const FALLBACK = 1_764_850_000;

let stateDir: string;
let lines: string[];

beforeEach(async () => {
  stateDir = await makeTempDir("ven-seq-");
  lines = [];
});

afterEach(async () => {
  await removeTempDir(stateDir);
});

function counter(): SeqCounter {
  const log = createLogger({ level: "debug", format: "json", sink: { write: (text: string) => lines.push(text) } });
  return new SeqCounter(stateDir, log, FALLBACK);
}

function warnings(): string[] {
  return lines.map((line) => JSON.parse(line) as { level: string; msg: string }).filter((r) => r.level === "warn").map((r) => r.msg);
}

const seqPath = () => join(stateDir, SEQ_FILE);

describe("SeqCounter", () => {
  test("starts at 1", () => {
    const seq = counter();
    expect(seq.next()).toBe(1);
    expect(seq.next()).toBe(2);
  });

  test("current before next is 0", () => {
    expect(counter().current).toBe(0);
  });

  test("current follows next", () => {
    const seq = counter();
    seq.next();
    seq.next();
    expect(seq.current).toBe(2);
  });

  test("continues across instances", () => {
    const first = counter();
    first.next();
    first.next();
    first.next();
    expect(counter().next()).toBe(4);
  });

  test("continues from written file", () => {
    writeFileSync(seqPath(), "1207\n");
    expect(counter().next()).toBe(1208);
  });

  test("file written before return", () => {
    const seq = counter();
    const value = seq.next();
    expect(readFileSync(seqPath(), "utf8")).toBe(`${value}\n`);
  });

  test("leaves no temporary file", () => {
    counter().next();
    expect(readdirSync(stateDir)).toEqual([SEQ_FILE]);
  });

  test.each([
    ["text", "garbage"],
    ["empty", ""],
    ["negative", "-4\n"],
    ["fraction", "12.5\n"],
    ["unsafe integer", "99999999999999999999\n"],
  ])("corrupt %s uses fallback", (_name, content) => {
    writeFileSync(seqPath(), content);
    expect(counter().next()).toBe(FALLBACK + 1);
  });

  test("corrupt file is warned", () => {
    writeFileSync(seqPath(), "garbage");
    counter();
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]).toContain(seqPath());
    expect(warnings()[0]).toContain(String(FALLBACK + 1));
  });

  test("healthy file is quiet", () => {
    writeFileSync(seqPath(), "5\n");
    counter();
    expect(warnings()).toEqual([]);
  });

  test("corrupt file is replaced", () => {
    writeFileSync(seqPath(), "garbage");
    counter().next();
    expect(readFileSync(seqPath(), "utf8")).toBe(`${FALLBACK + 1}\n`);
  });

  test("unreadable file is a configuration error", () => {
    // A directory where the file should be cannot be read, even by root.
    mkdirSync(seqPath());
    expect(() => counter()).toThrow(ConfigError);
    expect(() => counter()).toThrow(`Sequence file ${seqPath()} could not be read`);
  });
});
