/**
 * Measures `dist/ven run` over a fixed time: resident memory (median and maximum of 1 s samples),
 * CPU time, and the time from process start to the first telemetry message, against the embedded
 * broker or a broker given with --broker and the TLS flags.
 *
 *   bun test/bench/footprint.ts [--seconds 60] [-- <extra ven run flags>]
 *
 * Only loopback brokers: with no --broker the embedded one on 127.0.0.1:1883 is used.
 */
import mqtt from "mqtt";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const argv = process.argv.slice(2);
const separator = argv.indexOf("--");
const own = separator >= 0 ? argv.slice(0, separator) : argv;
const extra = separator >= 0 ? argv.slice(separator + 1) : [];
const secondsIndex = own.indexOf("--seconds");
const seconds = secondsIndex >= 0 ? Number(own[secondsIndex + 1]) : 60;

const flagValue = (name: string) => {
  const index = extra.indexOf(name);
  return index >= 0 ? extra[index + 1] : undefined;
};
const broker = flagValue("--broker") ?? "mqtt://127.0.0.1:1883";
const venId = flagValue("--ven-id") ?? "ven-bench-001";
const stateDir = mkdtempSync(join(tmpdir(), "ven-bench-"));
const ticksPerSecond = 100; // getconf CLK_TCK on Linux

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  // Fields 14 and 15 of /proc/PID/stat (utime, stime), counted after the command name.
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}

function rssKiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((entry) => entry.startsWith("VmRSS:"));
  return Number(line?.replace(/\D+/g, "") ?? 0);
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
};

const startedAt = performance.now();
const child = Bun.spawn(["dist/ven", "run", "--ven-id", venId, "--state-dir", stateDir, "--log-level", "warn", ...extra], {
  stdout: "ignore",
  stderr: "inherit",
});

// Subscribe as soon as the broker accepts connections; retry while it starts.
let firstTelemetryMs: number | undefined;
const tlsOptions = (() => {
  const ca = flagValue("--ca");
  const cert = flagValue("--cert");
  const key = flagValue("--key");
  return ca && cert && key ? { ca: readFileSync(ca), cert: readFileSync(cert), key: readFileSync(key) } : {};
})();
const listener = mqtt.connect(broker, { clientId: `${venId}-listen-bench`, protocolVersion: 4, reconnectPeriod: 20, ...tlsOptions });
listener.on("connect", () => listener.subscribe(`ven/telemetry/${venId}`, { qos: 1 }));
listener.on("message", () => {
  firstTelemetryMs ??= performance.now() - startedAt;
});

const samples: number[] = [];
for (let second = 0; second < seconds; second++) {
  await Bun.sleep(1000);
  samples.push(rssKiB(child.pid));
}
const cpu = cpuSeconds(child.pid);
child.kill("SIGTERM");
const exitCode = await child.exited;
listener.end(true);

console.log(
  JSON.stringify({
    broker,
    seconds,
    rssMedianMiB: Number((median(samples) / 1024).toFixed(1)),
    rssMaxMiB: Number((Math.max(...samples) / 1024).toFixed(1)),
    cpuSeconds: cpu,
    cpuSecondsPerHour: Number(((cpu / seconds) * 3600).toFixed(1)),
    firstTelemetryMs: firstTelemetryMs === undefined ? null : Math.round(firstTelemetryMs),
    exitCode,
  }),
);
