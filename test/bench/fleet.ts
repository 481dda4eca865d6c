/**
 * Fleet and outbox measurements. Each checks that the binary has the command it needs and
 * records why it was not measured instead of a figure when it does not.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import mqtt from "mqtt";
import { commandOutput, cpuSeconds, fixed, spawnTracked, type BenchContext, type Finding, type Measurement, type SectionResult } from "./lib.ts";

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

    // The outbox file is written directly, as a VEN would leave it after a long outage: filling it
    // through the binary would take 14 hours of telemetry at the 5 s interval.
    const count = context.quick ? 500 : 10_000;
    const drainRate = 100;
    const venId = "bench-outbox";
    const stateDir = join(context.workDir, "state-outbox");
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    const template = JSON.parse(SAMPLE_TELEMETRY) as Record<string, unknown>;
    const lines: string[] = [];
    const madeAt = Date.now() - 3_600_000;
    for (let seq = 1; seq <= count; seq++) {
      const payload = JSON.stringify({ ...template, venId, seq, message_num: seq, timestamp: Math.floor(madeAt / 1000) + seq, ts: Math.floor(madeAt / 1000) + seq });
      lines.push(JSON.stringify({ op: "add", id: seq, kind: "telemetry", at: madeAt + seq, topic: "volttron/metering", payload }));
    }
    writeFileSync(join(stateDir, "outbox.jsonl"), `${lines.join("\n")}\n`);
    writeFileSync(join(stateDir, "seq"), `${count}\n`);

    const received = new Set<number>();
    let duplicates = 0;
    const watcher = mqtt.connect(context.broker.url, { clientId: "bench-outbox-watcher", protocolVersion: 5, reconnectPeriod: 0 });
    await new Promise<void>((resolveReady, rejectReady) => {
      watcher.once("error", rejectReady);
      watcher.on("connect", () => watcher.subscribe("volttron/metering", { qos: 1 }, () => resolveReady()));
    });
    let firstAt = 0;
    let lastAt = 0;
    watcher.on("message", (_topic, payload) => {
      const seq = (JSON.parse(payload.toString()) as { seq: number }).seq;
      if (seq > count) return;
      if (received.has(seq)) duplicates++;
      received.add(seq);
      firstAt ||= performance.now();
      lastAt = performance.now();
    });

    const argv = [context.binary, "run", "--broker", context.broker.url, "--ven-id", venId, "--state-dir", stateDir, "--drain-rate", String(drainRate), "--log-level", "warn"];
    context.log(`outbox: draining ${count} stored messages at ${drainRate} per second`);
    const startedAt = performance.now();
    const child = spawnTracked(argv, { cwd: context.workDir, env: { ...process.env, HOME: context.workDir } });
    const limitMs = (count / drainRate) * 1000 * 3 + 30_000;
    while (received.size < count && performance.now() - startedAt < limitMs) await Bun.sleep(200);
    const cpu = cpuSeconds(child.pid);
    child.kill("SIGTERM");
    await child.exited;
    watcher.end(true);

    const lost = count - received.size;
    const drainSeconds = (lastAt - firstAt) / 1000;
    const table = [
      ["Stored messages", "Drain rate setting (1/s)", "Start to last message (s)", "First to last message (s)", "Rate reached (1/s)", "Lost", "Duplicates", "CPU s"],
      [
        String(count),
        String(drainRate),
        fixed((lastAt - startedAt) / 1000, 1),
        fixed(drainSeconds, 1),
        fixed(received.size / Math.max(drainSeconds, 0.001), 1),
        String(lost),
        String(duplicates),
        fixed(cpu, 2),
      ],
    ];
    return {
      kind: "measured",
      table,
      notes: [
        "The outbox file is written before the VEN starts, with telemetry samples of the usual size; the VEN replays it on connect while it publishes live telemetry.",
        `The drain rate is set to ${drainRate} per second, AWS IoT Core's limit per connection; the default is 20.`,
      ],
      commands: [argv.join(" ")],
      findings: [{ target: "no stored message lost while draining", measured: `${lost} lost of ${count}`, met: lost === 0 }],
    };
  },
};

/** One telemetry message of the usual size (eight circuits), the template of the stored samples. */
const SAMPLE_TELEMETRY = JSON.stringify({
  schemaVersion: "1",
  venId: "bench-outbox",
  timestamp: 0,
  seq: 0,
  usedPowerKw: 15.35,
  shedPowerKw: 0,
  requestedReductionKw: 0,
  eventId: null,
  baselinePowerKw: 15.35,
  panelAmperageRating: 200,
  panelVoltage: 240,
  panelMaxKw: 48,
  currentAmps: 63.96,
  panelUtilizationPercent: 31.98,
  loads: ["hvac1", "heater1", "ev1", "dryer1", "range1", "lights1", "outlets1", "fridge1"].map((id, index) => ({
    id,
    name: id,
    type: ["hvac", "heater", "ev", "dryer", "range", "lights", "outlets", "fridge"][index],
    capacityKw: 7.2,
    currentPowerKw: 1.5,
    shedCapabilityKw: 1.5,
    enabled: true,
    critical: false,
    priority: index + 1,
  })),
  ts: 0,
  power_kw: 15.35,
  shed_kw: 0,
  message_num: 0,
});
