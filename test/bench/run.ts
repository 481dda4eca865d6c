/**
 * The benchmark harness behind `make bench`. It starts its own mosquitto on 127.0.0.1, runs the
 * measurements named in BENCH (all of them by default) against the compiled binary, and writes a
 * markdown report.
 *
 *   bun test/bench/run.ts
 *
 * Environment:
 *   BENCH                     comma-separated names: footprint, roundtrip, listener, fleet, outbox
 *   BENCH_QUICK=1             short runs, for a smoke test; the figures are not worth quoting
 *   BENCH_FOOTPRINT_SECONDS   how long the footprint measurement runs (default 300, quick 10)
 *   BENCH_OUTPUT              report path (default test/bench/RESULTS.md)
 *   VEN_BENCH_BINARY          binary under test (default dist/ven)
 */
import { existsSync, readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { cpus, totalmem } from "node:os";
import { relative, resolve } from "node:path";
import { fleet, outbox } from "./fleet.ts";
import { footprint } from "./footprint.ts";
import { REPO_ROOT, commandOutput, killAll, makeWorkDir, removeWorkDir, startBenchBroker, type BenchContext, type Measurement, type SectionResult } from "./lib.ts";
import { listener } from "./listener.ts";
import { roundtrip } from "./roundtrip.ts";

const MEASUREMENTS: Measurement[] = [footprint, roundtrip, listener, fleet, outbox];
const INSTALL_HINT = "apt-get install hyperfine mosquitto mosquitto-clients";

interface Outcome {
  measurement: Measurement;
  result: SectionResult | { kind: "failed"; error: string };
  seconds: number;
}

function selectMeasurements(): Measurement[] {
  const requested = (process.env.BENCH ?? "").split(",").map((name) => name.trim()).filter((name) => name !== "");
  if (requested.length === 0) return MEASUREMENTS;
  const unknown = requested.filter((name) => !MEASUREMENTS.some((measurement) => measurement.name === name));
  if (unknown.length > 0) {
    throw new Error(`unknown BENCH ${unknown.join(", ")}; choose from ${MEASUREMENTS.map((measurement) => measurement.name).join(", ")}`);
  }
  return MEASUREMENTS.filter((measurement) => requested.includes(measurement.name));
}

/** Lists the tools that the selected measurements run and that are missing, each with how to get it. */
function missingTools(binary: string, selected: Measurement[]): string[] {
  const hints: Record<string, string> = {
    hyperfine: INSTALL_HINT,
    node: "install Node.js 20 or newer",
    stdbuf: "apt-get install coreutils",
    "/usr/bin/time": "apt-get install time",
  };
  const missing: string[] = [];
  const tools = new Set(["mosquitto_pub", "mosquitto_sub", ...selected.flatMap((measurement) => measurement.tools)]);
  for (const tool of tools) {
    const found = tool.startsWith("/") ? existsSync(tool) : Bun.which(tool) !== null;
    if (!found) missing.push(`${tool}: ${hints[tool] ?? INSTALL_HINT}`);
  }
  if (!["/usr/sbin/mosquitto", "/usr/bin/mosquitto"].some((path) => existsSync(path)) && Bun.which("mosquitto") === null) missing.push(`mosquitto: ${INSTALL_HINT}`);
  if (!existsSync(binary)) missing.push(`${binary}: run make build`);
  if (!existsSync(resolve(REPO_ROOT, "node_modules/mqtt/build/bin/mqtt.js"))) missing.push("node_modules/mqtt: run bun install");
  return missing;
}

function firstLine(text: string | undefined): string {
  return text?.split("\n")[0]?.trim() ?? "not found";
}

function machineLines(binary: string): string[] {
  const model = readFileSync("/proc/cpuinfo", "utf8").match(/^model name\s*:\s*(.*)$/m)?.[1] ?? "unknown";
  return [
    `- Date: ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC`,
    `- CPU: ${cpus().length} × ${model} (nproc ${firstLine(commandOutput(["nproc"]))})`,
    `- Memory: ${(totalmem() / 1024 ** 3).toFixed(1)} GiB`,
    `- Kernel: ${firstLine(commandOutput(["uname", "-sr"]))}`,
    `- ven: ${firstLine(commandOutput([binary, "--version"]))} (${relative(REPO_ROOT, binary)}, git ${firstLine(commandOutput(["git", "-C", REPO_ROOT, "rev-parse", "--short", "HEAD"]))})`,
    `- Bun: ${Bun.version}; Node.js: ${firstLine(commandOutput(["node", "--version"]))}; MQTT.js: ${firstLine(commandOutput(["node", resolve(REPO_ROOT, "node_modules/mqtt/build/bin/mqtt.js"), "version"])).replace("MQTT.js version: ", "")}`,
    `- mosquitto: ${firstLine(commandOutput(["dpkg-query", "-W", "-f=${Version}", "mosquitto"]))}; hyperfine: ${firstLine(commandOutput(["hyperfine", "--version"])).replace("hyperfine ", "")}`,
  ];
}

function markdownTable(rows: string[][]): string[] {
  const [head, ...body] = rows;
  if (!head) return [];
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [line(head), line(head.map((_, index) => (index === 0 ? "---" : "---:"))), ...body.map(line)];
}

function report(outcomes: Outcome[], binary: string, quick: boolean): string {
  const lines = [
    "# Benchmark results",
    "",
    "Written by `make bench` (test/bench/run.ts). Every figure is from one run of the harness on the machine below; ratios compare programs measured in the same run.",
    quick ? "\n**Quick mode (BENCH_QUICK=1): short runs for a smoke test. Do not quote these figures.**" : "",
    "",
    "## Machine",
    "",
    ...machineLines(binary),
    "",
  ];

  const findings = outcomes.flatMap((outcome) => (outcome.result.kind === "measured" ? outcome.result.findings : []));
  if (findings.length > 0) {
    lines.push("## Targets", "", ...markdownTable([["Target", "Measured", "Met"], ...findings.map((finding) => [finding.target, finding.measured, finding.met ? "yes" : "**no**"])]), "");
  }

  for (const outcome of outcomes) {
    lines.push(`## ${outcome.measurement.title} (\`BENCH=${outcome.measurement.name}\`)`, "");
    const result = outcome.result;
    if (result.kind === "not measured") {
      lines.push(`Not measured: ${result.reason}.`, "");
      continue;
    }
    if (result.kind === "failed") {
      lines.push(`Failed after ${outcome.seconds.toFixed(0)} s: ${result.error}`, "");
      continue;
    }
    lines.push(...markdownTable(result.table), "");
    lines.push(...result.notes.map((note) => `- ${note}`), "");
    lines.push("Commands:", "", "```sh", ...result.commands, "```", "", `This measurement took ${outcome.seconds.toFixed(0)} s.`, "");
  }
  return `${lines.join("\n").replace(/\n{3,}/g, "\n\n").trimEnd()}\n`;
}

async function main(): Promise<number> {
  const quick = process.env.BENCH_QUICK === "1";
  const binary = resolve(REPO_ROOT, process.env.VEN_BENCH_BINARY ?? "dist/ven");
  const output = resolve(REPO_ROOT, process.env.BENCH_OUTPUT ?? "test/bench/RESULTS.md");
  const selected = selectMeasurements();
  const missing = missingTools(binary, selected);
  if (missing.length > 0) {
    console.error(`bench: missing tools:\n  ${missing.join("\n  ")}`);
    return 1;
  }

  const workDir = await makeWorkDir();
  const log = (line: string) => console.error(`bench: ${line}`);
  const outcomes: Outcome[] = [];
  try {
    const broker = await startBenchBroker(workDir);
    log(`mosquitto on ${broker.url}`);
    const context: BenchContext = { quick, binary, broker, workDir, log };
    for (const measurement of selected) {
      const startedAt = performance.now();
      log(`${measurement.name}: start`);
      let result: Outcome["result"];
      try {
        result = await measurement.run(context);
      } catch (error) {
        result = { kind: "failed", error: error instanceof Error ? error.message : String(error) };
      }
      const seconds = (performance.now() - startedAt) / 1000;
      log(`${measurement.name}: ${result.kind === "measured" ? "done" : `${result.kind}: ${"reason" in result ? result.reason : result.error}`} after ${seconds.toFixed(0)} s`);
      outcomes.push({ measurement, result, seconds });
    }
    await broker.stop();
  } finally {
    await killAll();
    await removeWorkDir(workDir);
  }

  await writeFile(output, report(outcomes, binary, quick));
  log(`wrote ${relative(process.cwd(), output)}`);
  return outcomes.some((outcome) => outcome.result.kind === "failed") ? 1 : 0;
}

process.exitCode = await main();
