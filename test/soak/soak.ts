/**
 * Soak check of the compiled binary. It runs `dist/ven run` against mosquitto through a TCP
 * proxy and drops every proxied connection at a fixed interval to force reconnects. Meanwhile it
 * samples the process's resident memory and open file descriptors every second, and at the end
 * prints a JSON summary on stdout. Exits 1 when the VEN died, stopped publishing, or its memory
 * or descriptors did not stay flat.
 *
 * Run with `make soak` or `bun test/soak/soak.ts`. Settings (environment variables):
 *   SOAK_RECONNECTS        forced reconnects before the run ends (default 300)
 *   SOAK_MAX_DURATION_S    upper bound on the forcing phase in seconds (default 300, at most 3600)
 *   SOAK_DROP_INTERVAL_MS  time between two drops in milliseconds (default 500, at least 100)
 * Linux only, because the samples come from /proc.
 */
import { readdirSync, readFileSync } from "node:fs";
import { assertPrerequisites, VenInstall, type VenProcess } from "../helpers/binary.ts";
import { startMosquitto, type MosquittoHandle } from "../helpers/mosquitto.ts";
import { startProxy, type TcpProxy } from "../helpers/proxy.ts";

const VEN_ID = "ven-soak-001";
const TELEMETRY_TOPIC = `ven/telemetry/${VEN_ID}`;
const SAMPLE_INTERVAL_MS = 1000;
/** Samples whose median is the baseline that the last sample is compared with. */
const BASELINE_SAMPLES = 10;
/** The last RSS sample may differ from the baseline by this fraction. */
const RSS_TOLERANCE = 0.2;
/** The last descriptor count may exceed the baseline by this many. */
const FD_TOLERANCE = 5;
const STARTUP_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5000;
/** Extra time after the forcing phase for startup, the final telemetry check and the stop. */
const WATCHDOG_MARGIN_MS = 60_000;

interface Settings {
  reconnects: number;
  maxDurationS: number;
  dropIntervalMs: number;
}

interface Sample {
  /** Milliseconds since the forcing phase started. */
  atMs: number;
  rssMiB: number;
  fds: number;
}

function readIntegerSetting(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`invalid ${name}=${raw}: expected an integer from ${min} to ${max}`);
  }
  return value;
}

function readSettings(): Settings {
  return {
    reconnects: readIntegerSetting("SOAK_RECONNECTS", 300, 1, 100_000),
    maxDurationS: readIntegerSetting("SOAK_MAX_DURATION_S", 300, 1, 3600),
    dropIntervalMs: readIntegerSetting("SOAK_DROP_INTERVAL_MS", 500, 100, 60_000),
  };
}

/** Reads VmRSS from /proc/PID/status, in MiB, or undefined when the process is gone. */
function readRssMiB(pid: number): number | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return undefined;
  }
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  return match ? Number(match[1]) / 1024 : undefined;
}

/** Counts the entries of /proc/PID/fd, or returns undefined when the process is gone. */
function countFds(pid: number): number | undefined {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return undefined;
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const middle = Math.floor(sorted.length / 2);
  if (sorted.length % 2 === 1) return sorted[middle]!;
  return (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

/** Builds the JSON summary from the samples and the proxy's connection count. */
function summarize(settings: Settings, samples: readonly Sample[], proxy: TcpProxy, ven: VenProcess, telemetryAfterSoak: boolean) {
  const rss = samples.map((sample) => sample.rssMiB);
  const fds = samples.map((sample) => sample.fds);
  const baselineRss = median(rss.slice(0, BASELINE_SAMPLES));
  const baselineFds = median(fds.slice(0, BASELINE_SAMPLES));
  const lastRss = rss.at(-1) ?? Number.NaN;
  const lastFds = fds.at(-1) ?? Number.NaN;
  const rssFlat = Math.abs(lastRss - baselineRss) <= baselineRss * RSS_TOLERANCE;
  const fdsFlat = lastFds <= baselineFds + FD_TOLERANCE;
  return {
    settings,
    durationS: round((samples.at(-1)?.atMs ?? 0) / 1000),
    samples: samples.length,
    // The first connection through the proxy is the initial connect, every later one a reconnect.
    reconnects: Math.max(0, proxy.connections - 1),
    proxyConnections: proxy.connections,
    venRunning: ven.running,
    telemetryAfterSoak,
    rssMiB: {
      first: round(rss[0] ?? Number.NaN),
      median: round(median(rss)),
      last: round(lastRss),
      max: round(Math.max(...rss)),
      baseline: round(baselineRss),
      flat: rssFlat,
    },
    fds: {
      first: fds[0] ?? null,
      last: Number.isNaN(lastFds) ? null : lastFds,
      max: fds.length > 0 ? Math.max(...fds) : null,
      baseline: baselineFds,
      flat: fdsFlat,
    },
    ok: rssFlat && fdsFlat && ven.running && telemetryAfterSoak,
  };
}

async function main(): Promise<number> {
  const settings = readSettings();
  assertPrerequisites();

  let broker: MosquittoHandle | undefined;
  let proxy: TcpProxy | undefined;
  let install: VenInstall | undefined;
  // A hung step must not keep the run going forever: the watchdog kills the VEN and exits.
  const watchdog = setTimeout(() => {
    console.error(`soak: timed out after ${settings.maxDurationS} s plus ${WATCHDOG_MARGIN_MS / 1000} s; killing the VEN`);
    void install?.killAll().finally(() => process.exit(2));
  }, settings.maxDurationS * 1000 + WATCHDOG_MARGIN_MS);

  try {
    broker = await startMosquitto();
    proxy = await startProxy({ targetPort: broker.port });
    install = await VenInstall.create();
    const args = [
      "run",
      "--broker",
      proxy.url("mqtt"),
      "--ven-id",
      VEN_ID,
      "--reconnect-min-delay",
      "0.05",
      "--reconnect-max-delay",
      "0.2",
      "--keepalive",
      "5",
      "--interval",
      "1",
      "--state-dir",
      install.newStateDir(),
      "--output",
      "jsonl",
    ];
    const ven = install.spawn(args);
    await proxy.waitForConnections(1, STARTUP_TIMEOUT_MS);
    console.error(`soak: ven pid ${ven.pid} connected through ${proxy.url()}; forcing ${settings.reconnects} reconnects, at most ${settings.maxDurationS} s`);

    const samples: Sample[] = [];
    const startedAt = performance.now();
    const sample = () => {
      const rssMiB = readRssMiB(ven.pid);
      const fds = countFds(ven.pid);
      if (rssMiB !== undefined && fds !== undefined) samples.push({ atMs: performance.now() - startedAt, rssMiB, fds });
    };
    sample();
    const sampler = setInterval(sample, SAMPLE_INTERVAL_MS);

    const deadline = startedAt + settings.maxDurationS * 1000;
    // proxy.connections - 1 counts the reconnects, since the first connection was the initial connect.
    while (proxy.connections - 1 < settings.reconnects && performance.now() < deadline && ven.running) {
      await Bun.sleep(settings.dropIntervalMs);
      proxy.dropAll();
      const done = proxy.connections - 1;
      if (done > 0 && done % 50 === 0) console.error(`soak: ${done} reconnects so far`);
    }
    sample();
    clearInterval(sampler);

    // The VEN must still be working: one telemetry message within a few intervals.
    let telemetryAfterSoak = false;
    if (ven.running) {
      const received = await broker.sub(TELEMETRY_TOPIC, { count: 1, timeoutS: 5 }).catch(() => []);
      telemetryAfterSoak = received.length === 1;
    }

    const summary = summarize(settings, samples, proxy, ven, telemetryAfterSoak);
    if (ven.running) {
      ven.kill("SIGTERM");
      await ven.waitForExit(STOP_TIMEOUT_MS).catch(() => undefined);
    } else {
      const result = await ven.finished;
      console.error(`soak: the VEN exited early (code ${result.exitCode}, signal ${result.signalCode}); stderr tail:\n${result.stderr.split("\n").slice(-20).join("\n")}`);
    }
    console.log(JSON.stringify(summary, null, 2));
    return summary.ok ? 0 : 1;
  } finally {
    clearTimeout(watchdog);
    await install?.dispose();
    await proxy?.close();
    await broker?.dispose();
  }
}

process.exitCode = await main();
