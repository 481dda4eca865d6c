/**
 * Listener throughput: CPU seconds per 100,000 messages and the highest rate received without
 * loss, for `ven listen --output jsonl`, mosquitto_sub and MQTT.js's own `mqtt sub` on Node, all
 * subscribed at the same time to one stream that mosquitto_pub publishes with QoS 1.
 */
import type { FileSink, Subprocess } from "bun";
import { join } from "node:path";
import {
  HOST,
  LineCounter,
  REPO_ROOT,
  cpuSeconds,
  fixed,
  median,
  ratio,
  spawnTracked,
  stopProcess,
  telemetryPayload,
  type BenchContext,
  type Finding,
  type Measurement,
  type SectionResult,
} from "./lib.ts";

const MQTT_CLI = join(REPO_ROOT, "node_modules/mqtt/build/bin/mqtt.js");
const STREAM_TOPIC = "ven/telemetry/bench-stream";
const FILTER = "ven/telemetry/+";
/** The publisher writes one batch of lines this often. */
const BATCH_MS = 10;
/** After the last publish, a listener that gets nothing new for this long is taken as finished. */
const SETTLE_MS = 3000;

interface ListenerSpec {
  label: string;
  argv(context: BenchContext): string[];
}

const LISTENERS: ListenerSpec[] = [
  {
    label: "ven listen",
    argv: (context) => [context.binary, "listen", "--broker", context.broker.url, "--output", "jsonl", "--log-level", "warn"],
  },
  {
    label: "mosquitto_sub",
    // Line-buffered like the other two, which write each message as it arrives.
    argv: (context) => ["stdbuf", "-oL", "mosquitto_sub", "-h", HOST, "-p", String(context.broker.port), "-V", "mqttv5", "-q", "1", "-t", FILTER],
  },
  {
    label: "mqtt sub (Node)",
    argv: (context) => ["node", MQTT_CLI, "sub", "-h", HOST, "-p", String(context.broker.port), "-q", "1", "-t", FILTER, "--protocolVersion", "5"],
  },
];

interface RunningListener {
  spec: ListenerSpec;
  child: Subprocess;
  /** The process whose CPU time is measured: the child, or for stdbuf the program it runs (same pid after exec). */
  pid: number;
  lines: LineCounter;
}

interface StepResult {
  targetPerSecond: number;
  achievedPerSecond: number;
  published: number;
  received: number[];
  cpuSeconds: number[];
}

function startListeners(context: BenchContext): RunningListener[] {
  return LISTENERS.map((spec) => {
    const child = spawnTracked(spec.argv(context), { cwd: context.workDir, stdout: "pipe", stderr: "inherit", env: { ...process.env, HOME: context.workDir } });
    return { spec, child, pid: child.pid, lines: new LineCounter(child.stdout as ReadableStream<Uint8Array>) };
  });
}

/** Starts `mosquitto_pub -l`, which publishes each line of its stdin as one message. */
function startPublisher(context: BenchContext): Subprocess<"pipe", "ignore", "inherit"> {
  return spawnTracked(["mosquitto_pub", "-h", HOST, "-p", String(context.broker.port), "-V", "mqttv5", "-q", "1", "-t", STREAM_TOPIC, "-l"], {
    stdin: "pipe",
    stderr: "inherit",
  }) as Subprocess<"pipe", "ignore", "inherit">;
}

/** Publishes probe messages until every listener has printed at least one line. */
async function waitUntilSubscribed(context: BenchContext, listeners: RunningListener[]): Promise<void> {
  const deadline = performance.now() + 20_000;
  while (listeners.some((listener) => listener.lines.count === 0)) {
    if (performance.now() > deadline) {
      const silent = listeners.filter((listener) => listener.lines.count === 0).map((listener) => listener.spec.label);
      throw new Error(`no probe message reached ${silent.join(", ")} within 20 s`);
    }
    const probe = startPublisher(context);
    probe.stdin.write(`${telemetryPayload("bench-probe", 0, Math.floor(Date.now() / 1000))}\n`);
    await probe.stdin.end();
    await probe.exited;
    await Bun.sleep(200);
  }
}

/** Writes `count` telemetry lines to the publisher at `perSecond`; returns the seconds it took. */
async function publishStream(stdin: FileSink, perSecond: number, count: number): Promise<number> {
  const template = telemetryPayload("bench-stream", 0, 0);
  const startedAt = performance.now();
  let sent = 0;
  while (sent < count) {
    const due = Math.min(count, Math.floor(((performance.now() - startedAt) / 1000) * perSecond) + 1);
    let batch = "";
    const timestamp = Math.floor(Date.now() / 1000);
    for (; sent < due; sent++) {
      batch += `${template.replace('"timestamp":0,"seq":0', `"timestamp":${timestamp},"seq":${sent + 1}`)}\n`;
    }
    if (batch !== "") {
      stdin.write(batch);
      await stdin.flush();
    }
    await Bun.sleep(BATCH_MS);
  }
  await stdin.end();
  return (performance.now() - startedAt) / 1000;
}

/** Waits until every listener has `target` lines or none got a new one for SETTLE_MS. */
async function waitForLines(listeners: RunningListener[], target: number[]): Promise<void> {
  let last = listeners.map((listener) => listener.lines.count);
  let quietSince = performance.now();
  while (listeners.some((listener, index) => listener.lines.count < target[index]!)) {
    await Bun.sleep(100);
    const now = listeners.map((listener) => listener.lines.count);
    if (now.some((count, index) => count !== last[index])) quietSince = performance.now();
    else if (performance.now() - quietSince > SETTLE_MS) return;
    last = now;
  }
}

/** Runs one stream of `count` messages at `perSecond` through fresh listeners. */
async function runStep(context: BenchContext, perSecond: number, count: number): Promise<StepResult> {
  const listeners = startListeners(context);
  try {
    await waitUntilSubscribed(context, listeners);
    await Bun.sleep(300);
    const baseline = listeners.map((listener) => listener.lines.count);
    const cpuBefore = listeners.map((listener) => cpuSeconds(listener.pid));

    const publisher = startPublisher(context);
    const seconds = await publishStream(publisher.stdin, perSecond, count);
    await publisher.exited;
    await waitForLines(
      listeners,
      baseline.map((lines) => lines + count),
    );

    return {
      targetPerSecond: perSecond,
      achievedPerSecond: count / seconds,
      published: count,
      received: listeners.map((listener, index) => listener.lines.count - baseline[index]!),
      cpuSeconds: listeners.map((listener, index) => cpuSeconds(listener.pid) - cpuBefore[index]!),
    };
  } finally {
    for (const listener of listeners) await stopProcess(listener.child);
  }
}

export const listener: Measurement = {
  name: "listener",
  title: "Listener throughput",
  tools: ["node", "stdbuf"],
  async run(context: BenchContext): Promise<SectionResult> {
    const cpuRate = 2000;
    const cpuCount = context.quick ? 4000 : 100_000;
    const cpuRuns = context.quick ? 1 : 3;
    const ladder = context.quick ? [2000, 5000] : [2000, 5000, 10_000, 20_000, 40_000];
    const stepSeconds = context.quick ? 1 : 5;
    const ladderPasses = context.quick ? 1 : 3;

    const perHundredThousand: number[][] = LISTENERS.map(() => []);
    const lost: number[] = LISTENERS.map(() => 0);
    for (let run = 1; run <= cpuRuns; run++) {
      context.log(`listener: ${cpuCount} messages at ${cpuRate}/s, run ${run} of ${cpuRuns}`);
      const step = await runStep(context, cpuRate, cpuCount);
      step.received.forEach((received, index) => {
        perHundredThousand[index]!.push((step.cpuSeconds[index]! / Math.max(1, received)) * 100_000);
        lost[index]! += Math.max(0, step.published - received);
      });
    }

    const sustained: number[][] = LISTENERS.map(() => []);
    const ladderLog: string[] = [];
    for (let pass = 1; pass <= ladderPasses; pass++) {
      const best = LISTENERS.map(() => 0);
      const failed = LISTENERS.map(() => false);
      for (const perSecond of ladder) {
        context.log(`listener: ${stepSeconds} s at ${perSecond}/s, pass ${pass} of ${ladderPasses}`);
        const step = await runStep(context, perSecond, perSecond * stepSeconds);
        ladderLog.push(
          `pass ${pass}, ${perSecond}/s (reached ${fixed(step.achievedPerSecond, 0)}/s): ` +
            LISTENERS.map((spec, index) => `${spec.label} ${step.received[index]}/${step.published}`).join(", "),
        );
        step.received.forEach((received, index) => {
          if (failed[index]) return;
          if (received >= step.published) best[index] = step.achievedPerSecond;
          else failed[index] = true;
        });
        if (failed.every(Boolean)) break;
      }
      best.forEach((rate, index) => sustained[index]!.push(rate));
    }

    const cpu = perHundredThousand.map(median);
    const rates = sustained.map(median);
    const [venCpu, subCpu, nodeCpu] = cpu as [number, number, number];
    const [venRate, subRate, nodeRate] = rates as [number, number, number];
    const findings: Finding[] = [
      { target: "ven listen uses less CPU per message than MQTT.js's CLI on Node", measured: `${ratio(venCpu, nodeCpu)} of mqtt sub`, met: venCpu < nodeCpu },
      { target: "ven listen uses no more than twice mosquitto_sub's CPU per message", measured: `${ratio(venCpu, subCpu)} of mosquitto_sub`, met: venCpu <= 2 * subCpu },
    ];
    const top = ladder[ladder.length - 1]!;
    const rateText = (rate: number) => (rate === 0 ? `below ${ladder[0]}` : fixed(rate, 0));
    return {
      kind: "measured",
      table: [
        ["Figure", "ven listen", "mosquitto_sub", "mqtt sub (Node)", "ven / mosquitto_sub", "ven / mqtt sub"],
        [`CPU seconds per 100,000 messages (median of ${cpuRuns})`, fixed(venCpu, 2), fixed(subCpu, 2), fixed(nodeCpu, 2), ratio(venCpu, subCpu), ratio(venCpu, nodeCpu)],
        [`Messages lost in those runs`, String(lost[0]), String(lost[1]), String(lost[2]), "", ""],
        [`Highest rate without loss (msg/s, median of ${ladderPasses})`, rateText(venRate), rateText(subRate), rateText(nodeRate), ratio(venRate, subRate), ratio(venRate, nodeRate)],
      ],
      notes: [
        `The CPU row: ${cpuCount} telemetry messages of ${telemetryPayload("bench-stream", 0, 0).length} bytes at ${cpuRate}/s, CPU time of each listener process from /proc/PID/stat, counted from the first to the last message.`,
        `The rate row: steps of ${stepSeconds} s at ${ladder.join(", ")} msg/s; a listener passes a step when it printed every message, and its figure is the rate the publisher reached in its last passed step. ${top} msg/s is the top of the ladder, so a figure near it is a floor, not the listener's limit.`,
        "All three listeners, mosquitto, mosquitto_pub and the harness share the 2 cores, so a listener competes with the other two for CPU; the ratios compare them under the same load.",
        "mosquitto keeps at most 10,000 queued QoS 1 messages per client, and drops the rest for a client that falls further behind: that is the loss counted here.",
        ...ladderLog.map((line) => `Ladder ${line}.`),
      ],
      commands: [
        ...LISTENERS.map((spec) => `${spec.argv(context).join(" ")} > pipe`),
        `mosquitto_pub -h ${HOST} -p ${context.broker.port} -V mqttv5 -q 1 -t ${STREAM_TOPIC} -l < lines written at the target rate`,
      ],
      findings,
    };
  },
};
