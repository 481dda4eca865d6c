/**
 * Shared pieces of the benchmark harness: process figures from /proc, a quiet mosquitto on
 * 127.0.0.1, child processes that are always killed, and small statistics.
 */
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Subprocess } from "bun";
import { freePort, portAcceptsConnections } from "../helpers/ports.ts";

export const REPO_ROOT = resolve(import.meta.dir, "../..");
export const HOST = "127.0.0.1";
/** USER_HZ, the unit of CPU times in /proc/PID/stat: 100 on Linux x86-64 and arm64 (getconf CLK_TCK). */
const CLOCK_TICKS = 100;

/** Settings every measurement reads: quick mode, durations and the binary under test. */
export interface BenchContext {
  quick: boolean;
  binary: string;
  broker: BenchBroker;
  /** Folder for temporary files of this run, removed at the end. */
  workDir: string;
  log: (line: string) => void;
}

/** What a measurement returns: a table for RESULTS.md, or the reason it could not run. */
export type SectionResult =
  | { kind: "measured"; table: string[][]; notes: string[]; commands: string[]; findings: Finding[] }
  | { kind: "not measured"; reason: string };

/** One figure compared with the target the project aims for. */
export interface Finding {
  target: string;
  measured: string;
  met: boolean;
}

export interface Measurement {
  /** Selects the measurement in BENCH. */
  name: string;
  title: string;
  /** Programs it runs besides the binary, mosquitto and mosquitto_pub/mosquitto_sub. */
  tools: string[];
  run(context: BenchContext): Promise<SectionResult>;
}

/** Sum of user and system CPU time of a live process, in seconds. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name, which is in parentheses and may contain spaces.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // utime and stime are fields 14 and 15 of proc(5), so 12 and 13 after "pid (comm)".
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** Resident set size of a live process, in KiB. */
export function rssKiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((entry) => entry.startsWith("VmRSS:"));
  return Number(line?.replace(/\D+/g, "") ?? 0);
}

/** Process ids of the direct children of `pid`. */
export function childPids(pid: number): number[] {
  try {
    const text = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim();
    return text === "" ? [] : text.split(" ").map(Number);
  } catch {
    return [];
  }
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** Nearest-rank percentile; NaN for an empty list. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

export function fixed(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : "-";
}

/** Formats `value / peer` as "1.23×", or "-" when either is missing. */
export function ratio(value: number, peer: number): string {
  return Number.isFinite(value) && Number.isFinite(peer) && peer > 0 ? `${(value / peer).toFixed(2)}×` : "-";
}

const live = new Set<Subprocess>();

/** Spawns a process that `killAll` ends; stdout and stderr go to the given targets. */
export function spawnTracked(argv: string[], options: Parameters<typeof Bun.spawn>[1] = {}): Subprocess {
  const child = Bun.spawn(argv, { stdin: "ignore", stdout: "ignore", stderr: "ignore", ...options });
  live.add(child);
  void child.exited.then(() => live.delete(child));
  return child;
}

/** Kills every process this harness started and still runs. */
export async function killAll(): Promise<void> {
  for (const child of live) child.kill("SIGKILL");
  await Promise.all([...live].map((child) => child.exited));
}

/** Waits for `child` to exit; sends SIGKILL after `timeoutMs`. Returns the exit code. */
export async function stopProcess(child: Subprocess, signal: NodeJS.Signals = "SIGTERM", timeoutMs = 5000): Promise<number | null> {
  if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  await child.exited;
  clearTimeout(timer);
  return child.exitCode;
}

export async function makeWorkDir(): Promise<string> {
  return await mkdtemp(join(tmpdir(), "ven-bench-"));
}

export async function removeWorkDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

export interface BenchBroker {
  port: number;
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/**
 * Starts mosquitto on 127.0.0.1 with errors and warnings logged only, so logging does not cost
 * broker CPU at high message rates. Each client's queue is raised from mosquitto's default of
 * 1000 to 10,000 QoS 1 messages, so a short stall of a listener under load is not yet a loss.
 * `set_tcp_nodelay` turns Nagle's algorithm off: with mosquitto 2.0's default, a PUBACK and the
 * next PUBLISH to the same client wait for the client's delayed ACK, about 40 ms on Linux.
 */
export async function startBenchBroker(workDir: string): Promise<BenchBroker> {
  const binary = ["/usr/sbin/mosquitto", "/usr/bin/mosquitto"].find((path) => existsSync(path)) ?? Bun.which("mosquitto");
  if (!binary) throw new Error("mosquitto not found: apt-get install hyperfine mosquitto mosquitto-clients");
  const port = await freePort();

  const configPath = join(workDir, "mosquitto.conf");
  const logPath = join(workDir, "mosquitto.log");
  const lines = [
    `listener ${port} ${HOST}`,
    "allow_anonymous true",
    "persistence false",
    `log_dest file ${logPath}`,
    "log_type error",
    "log_type warning",
    "max_queued_messages 10000",
    "set_tcp_nodelay true",
  ];
  if (process.getuid?.() === 0) lines.push("user root");
  await writeFile(configPath, `${lines.join("\n")}\n`);

  const out = openSync(join(workDir, "mosquitto.out"), "a");
  let child: Subprocess;
  try {
    child = spawnTracked([binary, "-c", configPath], { stdout: out, stderr: out });
  } finally {
    closeSync(out);
  }

  const deadline = Date.now() + 5000;
  while (!(await portAcceptsConnections(port, 250))) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`mosquitto did not start on port ${port}; see ${logPath}`);
    await Bun.sleep(50);
  }
  return { port, url: `mqtt://${HOST}:${port}`, pid: child.pid, stop: async () => void (await stopProcess(child)) };
}

/** Builds a telemetry payload of the usual size (about 1.5 KiB with eight loads) for load tests. */
export function telemetryPayload(venId: string, seq: number, timestamp: number): string {
  const loads = ["hvac1", "heater1", "ev1", "dryer1", "range1", "lights1", "outlets1", "fridge1"].map((id, index) => ({
    id,
    name: id,
    type: id.replace(/\d+$/, ""),
    capacityKw: 7.2,
    currentPowerKw: 1.5,
    shedCapabilityKw: 1.5,
    enabled: true,
    critical: index === 0 || index === 7,
    priority: index + 1,
  }));
  return JSON.stringify({
    schemaVersion: "1",
    venId,
    timestamp,
    seq,
    usedPowerKw: 12.5,
    shedPowerKw: 0,
    requestedReductionKw: 0,
    eventId: null,
    baselinePowerKw: 12.5,
    panelAmperageRating: 200,
    panelVoltage: 240,
    panelMaxKw: 48,
    currentAmps: 52.08,
    panelUtilizationPercent: 26.04,
    loads,
  });
}

/** Counts newline-terminated lines that arrive on a stream, in the background. */
export class LineCounter {
  count = 0;
  readonly done: Promise<void>;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.done = (async () => {
      for await (const chunk of stream) {
        for (let index = chunk.indexOf(10); index >= 0; index = chunk.indexOf(10, index + 1)) this.count++;
      }
    })();
  }
}

/** Runs a command to its end and returns its stdout, or undefined when it fails to start or exits non-zero. */
export function commandOutput(argv: string[]): string | undefined {
  try {
    const result = Bun.spawnSync(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    return result.exitCode === 0 ? `${result.stdout.toString()}${result.stderr.toString()}`.trim() : undefined;
  } catch {
    return undefined;
  }
}
