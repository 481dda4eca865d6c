/**
 * Agent footprint: resident memory and CPU time of `ven run` at the default 5 s interval, the time
 * from process start to the first telemetry message, and the start time of the CLI. The peer is
 * a minimal MQTT.js agent on Node (peers/node-agent.cjs) that publishes the same messages.
 */
import mqtt from "mqtt";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  REPO_ROOT,
  childPids,
  cpuSeconds,
  fixed,
  median,
  ratio,
  rssKiB,
  spawnTracked,
  stopProcess,
  type BenchContext,
  type Measurement,
  type SectionResult,
} from "./lib.ts";

const NODE_AGENT = join(REPO_ROOT, "test/bench/peers/node-agent.cjs");
const MQTT_CLI = join(REPO_ROOT, "node_modules/mqtt/build/bin/mqtt.js");
/** CPU spent while starting is left out of the per-hour figure: sampling begins this long after start. */
const WARMUP_S = 5;

interface Watched {
  label: string;
  timePid: number;
  pid: number;
  rssSamples: number[];
  cpuAtWarmup: number;
  cpuAtEnd: number;
  timeFile: string;
  exit: Promise<number>;
}

/** Reads one figure from a `/usr/bin/time -v` report. */
function timeReport(file: string, label: string): number {
  const line = readFileSync(file, "utf8")
    .split("\n")
    .find((entry) => entry.trim().startsWith(label));
  return line ? Number(line.slice(line.lastIndexOf(":") + 1).trim()) : Number.NaN;
}

async function startUnderTime(context: BenchContext, label: string, argv: string[]): Promise<Watched> {
  const timeFile = join(context.workDir, `${label}.time`);
  const child = spawnTracked(["/usr/bin/time", "-v", "-o", timeFile, ...argv], { cwd: context.workDir, stderr: "inherit" });
  let pid: number | undefined;
  for (let tries = 0; pid === undefined && tries < 100; tries++) {
    await Bun.sleep(20);
    pid = childPids(child.pid)[0];
  }
  if (pid === undefined) throw new Error(`${argv.join(" ")} did not start under /usr/bin/time`);
  return { label, timePid: child.pid, pid, rssSamples: [], cpuAtWarmup: 0, cpuAtEnd: 0, timeFile, exit: child.exited };
}

function venRunArgs(context: BenchContext, venId: string): string[] {
  return [context.binary, "run", "--broker", context.broker.url, "--ven-id", venId, "--state-dir", join(context.workDir, `state-${venId}`), "--log-level", "warn"];
}

/** Milliseconds from spawning `argv` to the first message on `topic`; the process is stopped afterwards. */
async function firstMessageMs(context: BenchContext, argv: string[], topic: string): Promise<number> {
  const client = await mqtt.connectAsync(context.broker.url, { protocolVersion: 5, reconnectPeriod: 0 });
  await client.subscribeAsync(topic, { qos: 1 });
  let child: ReturnType<typeof spawnTracked> | undefined;
  try {
    const arrived = new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no message on ${topic} within 15 s from ${argv.join(" ")}`)), 15_000);
      client.once("message", () => {
        clearTimeout(timer);
        resolve(performance.now());
      });
    });
    const startedAt = performance.now();
    child = spawnTracked(argv, { cwd: context.workDir, stderr: "inherit" });
    return (await arrived) - startedAt;
  } finally {
    if (child) await stopProcess(child);
    await client.endAsync();
  }
}

/** Median start time in milliseconds of each command, measured by hyperfine without a shell. */
function hyperfineMedians(context: BenchContext, commands: string[], runs: number): number[] {
  const exportFile = join(context.workDir, "hyperfine.json");
  const result = Bun.spawnSync(["hyperfine", "--shell=none", "--warmup", "2", "--runs", String(runs), "--export-json", exportFile, ...commands], {
    cwd: REPO_ROOT,
    stdout: "ignore",
    stderr: "pipe",
  });
  if (result.exitCode !== 0) throw new Error(`hyperfine failed: ${result.stderr.toString().trim()}`);
  const report = JSON.parse(readFileSync(exportFile, "utf8")) as { results: Array<{ median: number }> };
  return report.results.map((entry) => entry.median * 1000);
}

export const footprint: Measurement = {
  name: "footprint",
  title: "Agent footprint",
  tools: ["hyperfine", "node", "/usr/bin/time"],
  async run(context: BenchContext): Promise<SectionResult> {
    const seconds = Number(process.env.BENCH_FOOTPRINT_SECONDS ?? (context.quick ? 10 : 300));
    if (!Number.isFinite(seconds) || seconds <= WARMUP_S) throw new Error(`BENCH_FOOTPRINT_SECONDS must be more than ${WARMUP_S}; got ${seconds}`);
    const startRuns = context.quick ? 2 : 5;

    // Both agents run at the same time, so they share the same machine load.
    context.log(`footprint: ven run and the Node agent side by side for ${seconds} s`);
    const ven = await startUnderTime(context, "ven", venRunArgs(context, "bench-footprint"));
    const node = await startUnderTime(context, "node", ["node", NODE_AGENT, context.broker.url, "bench-node-agent", "5"]);
    const watched = [ven, node];
    await Bun.sleep(WARMUP_S * 1000);
    for (const entry of watched) entry.cpuAtWarmup = cpuSeconds(entry.pid);
    const measuredFrom = performance.now();
    for (let second = WARMUP_S; second < seconds; second++) {
      await Bun.sleep(1000);
      for (const entry of watched) entry.rssSamples.push(rssKiB(entry.pid));
    }
    const measuredS = (performance.now() - measuredFrom) / 1000;
    for (const entry of watched) entry.cpuAtEnd = cpuSeconds(entry.pid);
    for (const entry of watched) process.kill(entry.pid, "SIGTERM");
    await Promise.all(watched.map((entry) => entry.exit));

    context.log(`footprint: start to first telemetry, ${startRuns} runs each`);
    const venStarts: number[] = [];
    const nodeStarts: number[] = [];
    for (let run = 1; run <= startRuns; run++) {
      venStarts.push(await firstMessageMs(context, venRunArgs(context, `bench-start-${run}`), `ven/telemetry/bench-start-${run}`));
      nodeStarts.push(await firstMessageMs(context, ["node", NODE_AGENT, context.broker.url, `bench-node-start-${run}`, "5"], `ven/telemetry/bench-node-start-${run}`));
    }

    context.log("footprint: CLI start with hyperfine");
    const hyperfineRuns = context.quick ? 5 : 20;
    const [venVersionMs, mqttVersionMs] = hyperfineMedians(context, [`${context.binary} --version`, `node ${MQTT_CLI} version`], hyperfineRuns);

    const figures = watched.map((entry) => ({
      rssMedianMiB: median(entry.rssSamples) / 1024,
      rssMaxMiB: timeReport(entry.timeFile, "Maximum resident set size") / 1024,
      cpuPerHour: ((entry.cpuAtEnd - entry.cpuAtWarmup) / measuredS) * 3600,
      cpuTotal: timeReport(entry.timeFile, "User time") + timeReport(entry.timeFile, "System time"),
    }));
    const [venFigures, nodeFigures] = figures as [(typeof figures)[0], (typeof figures)[0]];
    const venStartMs = median(venStarts);
    const nodeStartMs = median(nodeStarts);

    return {
      kind: "measured",
      table: [
        ["Figure", "ven", "Node MQTT.js agent", "ven / Node"],
        [`Resident memory, median of 1 s samples (MiB)`, fixed(venFigures.rssMedianMiB, 1), fixed(nodeFigures.rssMedianMiB, 1), ratio(venFigures.rssMedianMiB, nodeFigures.rssMedianMiB)],
        [`Resident memory, maximum (MiB, time -v)`, fixed(venFigures.rssMaxMiB, 1), fixed(nodeFigures.rssMaxMiB, 1), ratio(venFigures.rssMaxMiB, nodeFigures.rssMaxMiB)],
        [`CPU seconds per hour after start`, fixed(venFigures.cpuPerHour, 2), fixed(nodeFigures.cpuPerHour, 2), ratio(venFigures.cpuPerHour, nodeFigures.cpuPerHour)],
        [`CPU seconds in total, start included (time -v)`, fixed(venFigures.cpuTotal, 2), fixed(nodeFigures.cpuTotal, 2), ratio(venFigures.cpuTotal, nodeFigures.cpuTotal)],
        [`Start to first telemetry (ms, median of ${startRuns})`, fixed(venStartMs, 0), fixed(nodeStartMs, 0), ratio(venStartMs, nodeStartMs)],
        [`CLI start: \`--version\` (ms, hyperfine median of ${hyperfineRuns})`, fixed(venVersionMs ?? Number.NaN, 1), fixed(mqttVersionMs ?? Number.NaN, 1), ratio(venVersionMs ?? Number.NaN, mqttVersionMs ?? Number.NaN)],
      ],
      notes: [
        `Both agents ran side by side for ${seconds} s against the same mosquitto, publishing every 5 s (ven's default interval) to two topics with QoS 1. The per-hour CPU figure covers the ${fixed(measuredS, 0)} s after the first ${WARMUP_S} s, scaled to one hour.`,
        "The Node agent is a minimal MQTT.js publisher with no configuration, validation, simulation or command handling, so it is a floor for the runtime, not an equal program.",
        "The CLI start row compares `ven --version` with MQTT.js's own CLI on Node (`mqtt version`).",
      ],
      commands: [
        `/usr/bin/time -v ${venRunArgs(context, "bench-footprint").join(" ")}`,
        `/usr/bin/time -v node test/bench/peers/node-agent.cjs ${context.broker.url} bench-node-agent 5`,
        `hyperfine --shell=none --warmup 2 --runs ${hyperfineRuns} '${context.binary} --version' 'node node_modules/mqtt/build/bin/mqtt.js version'`,
      ],
      findings: [],
    };
  },
};
