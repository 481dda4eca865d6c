/**
 * Fleet and outbox measurements. Both depend on parts of the binary that are still being built,
 * so each checks the binary first and records why it was not measured instead of a figure.
 */
import { readFileSync } from "node:fs";
import { commandOutput, fixed, spawnTracked, type BenchContext, type Finding, type Measurement, type SectionResult } from "./lib.ts";

export const fleet: Measurement = {
  name: "fleet",
  title: "Fleet simulation",
  tools: [],
  async run(context: BenchContext): Promise<SectionResult> {
    const help = commandOutput([context.binary, "simulate", "--help"]);
    if (help === undefined) return { kind: "not measured", reason: "`ven simulate` is not available" };
    // Each VEN holds one socket in ven and one in mosquitto, both started with this process's limit.
    const openFiles = Number(/^Max open files\s+(\d+)/m.exec(readFileSync("/proc/self/limits", "utf8"))?.[1] ?? 1024);
    const sizes = (context.quick ? [200] : [1000, 5000, 10_000]).filter((count) => count + 200 <= openFiles);
    if (sizes.length === 0) return { kind: "not measured", reason: `the open-file limit ${openFiles} is too low; raise it with ulimit -n` };
    const seconds = context.quick ? 10 : 60;
    const rows: string[][] = [["VENs", "Connected at stop", "Connect rate (1/s)", "Telemetry acknowledged (1/s)", "CPU s", "% of one core per 1,000 VENs"]];
    const commands: string[] = [];
    let tenThousand: Record<string, number> | undefined;
    for (const count of sizes) {
      const argv = [context.binary, "simulate", "--count", String(count), "--duration", `${seconds}s`, "--connect-rate", "1000", "--broker", context.broker.url, "--output", "json"];
      commands.push(argv.join(" "));
      context.log(`fleet: ${count} VENs for ${seconds} s`);
      const child = spawnTracked(argv, { cwd: context.workDir, stdout: "pipe", stderr: "ignore", env: { ...process.env, HOME: context.workDir } });
      const summary = JSON.parse(await new Response(child.stdout as ReadableStream).text()) as Record<string, number>;
      await child.exited;
      if (count === 10_000) tenThousand = summary;
      rows.push([String(count), String(summary.connected), String(summary.connectRatePerSecond), fixed(summary.telemetryAcknowledged! / summary.elapsedSeconds!, 0), fixed(summary.cpuSeconds!, 1), String(summary.cpuPercentPer1000Vens)]);
    }
    const findings: Finding[] = tenThousand
      ? [{ target: "10,000 simulated VENs in one process on a 2-core machine", measured: `${tenThousand.connected} connected at the stop`, met: tenThousand.connected === 10_000 && tenThousand.connectionErrors === 0 }]
      : [];
    return {
      kind: "measured",
      table: rows,
      notes: [
        `Each run lasts ${seconds} s at the default 5 s interval, connect rate limited to 1,000 per second; the figures come from the summary \`ven simulate --output json\` prints.`,
        "CPU is the user and system time of the whole ven process (process.cpuUsage()), ramp-up included; mosquitto and the harness share the same cores.",
      ],
      commands,
      findings,
    };
  },
};

export const outbox: Measurement = {
  name: "outbox",
  title: "Outbox drain",
  tools: [],
  async run(context: BenchContext): Promise<SectionResult> {
    const help = commandOutput([context.binary, "run", "--help"]);
    if (help === undefined || !help.includes("--outbox")) return { kind: "not measured", reason: "the binary has no outbox" };
    // TODO: measure the drain once the outbox can be filled quickly. At the default interval,
    // 10,000 buffered messages take about 14 hours of telemetry while the broker is down.
    return {
      kind: "not measured",
      reason: "the binary has an outbox, but the harness cannot fill it with 10,000 messages quickly yet",
    };
  },
};
