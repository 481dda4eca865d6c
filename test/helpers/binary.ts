import { existsSync } from "node:fs";
import { chmod, copyFile, mkdir } from "node:fs/promises";
import { delimiter, join, resolve } from "node:path";
import type { Subprocess } from "bun";
import { mosquittoAvailable } from "./mosquitto.ts";
import { makeTempDir, removeTempDir } from "./tempdirs.ts";

/**
 * The binary under test: VEN_E2E_BINARY when set (for example a release build), else the
 * dist/ven that `make build` compiles.
 */
export const BUILT_BINARY = process.env.VEN_E2E_BINARY ? resolve(process.env.VEN_E2E_BINARY) : resolve(import.meta.dir, "../../dist/ven");

const FALLBACK_PATH = "/usr/local/bin:/usr/bin:/bin";

/** Returns one line per missing prerequisite of the end-to-end tier, or an empty list when it can run. */
export function missingPrerequisites(): string[] {
  const missing: string[] = [];
  if (!existsSync(BUILT_BINARY)) {
    const fix = process.env.VEN_E2E_BINARY ? "check VEN_E2E_BINARY" : "run make build";
    missing.push(`${BUILT_BINARY} is missing: ${fix}`);
  }
  if (!mosquittoAvailable()) missing.push("mosquitto, mosquitto_pub or mosquitto_sub is missing: install the Debian packages mosquitto and mosquitto-clients");
  return missing;
}

const NOTICE_SHOWN = Symbol.for("ven.e2e.skipNoticeShown");

/**
 * Returns true when the end-to-end tier must be skipped: a prerequisite is missing and CI is not
 * "true". Prints the reason once per process. Under CI=true it returns false, so the tests run
 * and `assertPrerequisites` fails them.
 */
export function skipEndToEnd(): boolean {
  const missing = missingPrerequisites();
  if (missing.length === 0 || process.env.CI === "true") return false;
  const flags = globalThis as Record<symbol, unknown>;
  if (!flags[NOTICE_SHOWN]) {
    flags[NOTICE_SHOWN] = true;
    console.warn(`End-to-end tests skipped (set CI=true to make this a failure):\n  ${missing.join("\n  ")}`);
  }
  return true;
}

/** Throws an error naming every missing prerequisite. Call it first in `beforeAll`. */
export function assertPrerequisites(): void {
  const missing = missingPrerequisites();
  if (missing.length > 0) throw new Error(`End-to-end prerequisites missing:\n  ${missing.join("\n  ")}`);
}

/** PATH without node_modules folders, so the binary finds nothing that `bun test` added. */
function cleanPath(): string {
  const entries = (process.env.PATH ?? "").split(delimiter).filter((entry) => entry !== "" && !entry.includes("node_modules"));
  return entries.length > 0 ? entries.join(delimiter) : FALLBACK_PATH;
}

/** Everything one finished process of the binary wrote, and how it ended. */
export interface VenResult {
  /** Arguments after the binary name. */
  args: readonly string[];
  /** Null when a signal ended the process. */
  exitCode: number | null;
  /** The signal that ended the process, or null after a normal exit. */
  signalCode: NodeJS.Signals | number | null;
  stdout: string;
  stderr: string;
  /** Wall time from spawn to exit, in milliseconds. */
  durationMs: number;
}

export interface SpawnOptions {
  /** Variables added to the clean environment (PATH and HOME). */
  env?: Record<string, string>;
  /** "pipe" keeps stdin open and never writes to it. Default "ignore" (/dev/null). */
  stdin?: "ignore" | "pipe";
}

/** One running process of the binary, with its output collected as it arrives. */
export class VenProcess {
  readonly args: readonly string[];
  readonly pid: number;
  /** Resolves when the process has exited and both output streams are read to the end. */
  readonly finished: Promise<VenResult>;
  private readonly child: Subprocess<"ignore" | "pipe", "pipe", "pipe">;
  private stdoutText = "";
  private stderrText = "";

  constructor(child: Subprocess<"ignore" | "pipe", "pipe", "pipe">, args: readonly string[]) {
    this.child = child;
    this.args = args;
    this.pid = child.pid;
    const startedAt = performance.now();
    const stdoutDone = collect(child.stdout, (text) => {
      this.stdoutText += text;
    });
    const stderrDone = collect(child.stderr, (text) => {
      this.stderrText += text;
    });
    this.finished = Promise.all([child.exited, stdoutDone, stderrDone]).then(() => ({
      args,
      exitCode: child.exitCode,
      signalCode: child.signalCode,
      stdout: this.stdoutText,
      stderr: this.stderrText,
      durationMs: performance.now() - startedAt,
    }));
  }

  get stdout(): string {
    return this.stdoutText;
  }

  get stderr(): string {
    return this.stderrText;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** Waits for the exit, and throws with the command and its stderr when that takes longer than `timeoutMs`. */
  async waitForExit(timeoutMs: number): Promise<VenResult> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<undefined>((resolveTimeout) => {
      timer = setTimeout(() => resolveTimeout(undefined), timeoutMs);
    });
    const result = await Promise.race([this.finished, timedOut]);
    clearTimeout(timer);
    if (result === undefined) {
      throw new Error(`ven ${this.args.join(" ")} did not exit within ${timeoutMs} ms; stderr so far:\n${this.stderrText}`);
    }
    return result;
  }

  /** Kills the process with SIGKILL unless it has exited, closes stdin and waits for the end. */
  async dispose(): Promise<void> {
    if (this.running) this.child.kill("SIGKILL");
    const stdin = this.child.stdin;
    if (stdin && typeof stdin === "object" && "end" in stdin) {
      try {
        await stdin.end();
      } catch {
        // The pipe is already closed.
      }
    }
    await this.finished;
  }
}

async function collect(stream: ReadableStream<Uint8Array>, append: (text: string) => void): Promise<void> {
  const decoder = new TextDecoder();
  for await (const chunk of stream) append(decoder.decode(chunk, { stream: true }));
  append(decoder.decode());
}

/**
 * A copy of the compiled binary alone in a fresh temporary folder, run the way a user would: from
 * that folder, with an environment of only PATH (without node_modules), a fresh HOME and the
 * variables a test passes. Layout: `bin/ven` (the working directory), `home/`, `state-N/`.
 */
export class VenInstall {
  /** Every process that has finished, in the order they finished. */
  readonly results: VenResult[] = [];
  private readonly live = new Set<VenProcess>();
  private stateDirs = 0;

  private constructor(
    readonly root: string,
    readonly binDir: string,
    readonly binary: string,
    readonly home: string,
  ) {}

  static async create(): Promise<VenInstall> {
    const root = await makeTempDir("ven-e2e-");
    const binDir = join(root, "bin");
    const home = join(root, "home");
    await mkdir(binDir);
    await mkdir(home);
    const binary = join(binDir, "ven");
    await copyFile(BUILT_BINARY, binary);
    await chmod(binary, 0o755);
    return new VenInstall(root, binDir, binary, home);
  }

  /** Returns a path for a new state directory that does not exist yet. The binary creates it. */
  newStateDir(): string {
    this.stateDirs += 1;
    return join(this.root, `state-${this.stateDirs}`);
  }

  spawn(args: readonly string[], options: SpawnOptions = {}): VenProcess {
    const child = Bun.spawn([this.binary, ...args], {
      cwd: this.binDir,
      env: { PATH: cleanPath(), HOME: this.home, ...options.env },
      stdin: options.stdin ?? "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    const started = new VenProcess(child, args);
    this.live.add(started);
    void started.finished.then((result) => {
      this.live.delete(started);
      this.results.push(result);
    });
    return started;
  }

  /** Runs the binary to its exit, and throws when it runs longer than `timeoutMs`. */
  async run(args: readonly string[], options: SpawnOptions & { timeoutMs?: number } = {}): Promise<VenResult> {
    return await this.spawn(args, options).waitForExit(options.timeoutMs ?? 10_000);
  }

  /** Kills every process still running. Call it from `afterEach`. */
  async killAll(): Promise<void> {
    await Promise.all([...this.live].map((running) => running.dispose()));
  }

  /** Kills every process and removes the folder. Call it from `afterAll`. */
  async dispose(): Promise<void> {
    await this.killAll();
    await removeTempDir(this.root);
  }
}

/** Lines of runtime noise in the stderr of finished runs, each prefixed with the command. */
export interface RuntimeNoise {
  deprecationWarnings: string[];
  runtimeWarnings: string[];
  stackTraces: string[];
}

/**
 * Finds lines that a clean run never writes to stderr: deprecation warnings, warnings printed by
 * the runtime (`Warning:`, as in `(node:123) Warning: …`) and stack trace frames (`    at …`, indented by 4 or more spaces).
 */
export function findRuntimeNoise(results: readonly VenResult[]): RuntimeNoise {
  const noise: RuntimeNoise = { deprecationWarnings: [], runtimeWarnings: [], stackTraces: [] };
  for (const result of results) {
    const command = `ven ${result.args.join(" ")}`;
    for (const line of result.stderr.split("\n")) {
      if (line.includes("DeprecationWarning")) noise.deprecationWarnings.push(`${command}: ${line}`);
      if (line.includes("Warning:")) noise.runtimeWarnings.push(`${command}: ${line}`);
      if (/^\s{4,}at /.test(line)) noise.stackTraces.push(`${command}: ${line}`);
    }
  }
  return noise;
}
