/**
 * Command round trip: the time from publishing a `ping` on ven/cmd/VEN_ID to receiving its ack on
 * ven/ack/VEN_ID, at 1 and at 100 pings per second. Peers measured in the same run: a minimal
 * MQTT.js responder on Node (peers/node-responder.cjs), and the broker alone (the client receives
 * its own message back, half the hops of a round trip through an agent).
 */
import mqtt, { type MqttClient } from "mqtt";
import { join } from "node:path";
import { REPO_ROOT, fixed, percentile, ratio, spawnTracked, stopProcess, type BenchContext, type Finding, type Measurement, type SectionResult } from "./lib.ts";

const NODE_RESPONDER = join(REPO_ROOT, "test/bench/peers/node-responder.cjs");
/** A ping without an ack after this long counts as lost. */
const ACK_TIMEOUT_MS = 5000;

interface Latencies {
  samples: number[];
  lost: number;
}

/**
 * Publishes `count` pings to `commandTopic` at `perSecond`, and returns the milliseconds from each
 * publish to the message on `replyTopic` that carries its correlationId.
 */
async function measure(client: MqttClient, commandTopic: string, replyTopic: string, perSecond: number, count: number, tag: string): Promise<Latencies> {
  const sentAt = new Map<string, number>();
  const samples: number[] = [];
  const onMessage = (topic: string, payload: Buffer) => {
    if (topic !== replyTopic) return;
    const arrivedAt = performance.now();
    let correlationId: unknown;
    try {
      correlationId = (JSON.parse(payload.toString("utf8")) as { correlationId?: unknown }).correlationId;
    } catch {
      return;
    }
    const started = typeof correlationId === "string" ? sentAt.get(correlationId) : undefined;
    if (started === undefined) return;
    sentAt.delete(correlationId as string);
    samples.push(arrivedAt - started);
  };
  client.on("message", onMessage);
  await client.subscribeAsync(replyTopic, { qos: 1 });

  const periodMs = 1000 / perSecond;
  const firstAt = performance.now();
  for (let index = 0; index < count; index++) {
    const due = firstAt + index * periodMs;
    const wait = due - performance.now();
    if (wait > 1) await Bun.sleep(wait);
    const correlationId = `${tag}-${index}`;
    sentAt.set(correlationId, performance.now());
    client.publish(commandTopic, JSON.stringify({ op: "ping", correlationId }), { qos: 1 });
  }
  const deadline = performance.now() + ACK_TIMEOUT_MS;
  while (sentAt.size > 0 && performance.now() < deadline) await Bun.sleep(10);

  client.off("message", onMessage);
  await client.unsubscribeAsync(replyTopic);
  return { samples, lost: sentAt.size };
}

/** Waits until a ping on `commandTopic` gets its ack, which shows that the agent under test has subscribed. */
async function waitForResponder(client: MqttClient, commandTopic: string, replyTopic: string): Promise<void> {
  const deadline = performance.now() + 15_000;
  for (let attempt = 0; performance.now() < deadline; attempt++) {
    const probe = await measure(client, commandTopic, replyTopic, 10, 1, `probe-${attempt}`);
    if (probe.samples.length > 0) return;
  }
  throw new Error(`no ack on ${replyTopic} within 15 s`);
}

export const roundtrip: Measurement = {
  name: "roundtrip",
  title: "Command round trip",
  tools: ["node"],
  async run(context: BenchContext): Promise<SectionResult> {
    const rates = [
      { perSecond: 1, count: context.quick ? 2 : 60 },
      { perSecond: 100, count: context.quick ? 100 : 3000 },
    ];
    const venId = "bench-roundtrip";
    const nodeId = "bench-node-responder";
    const venArgs = [context.binary, "run", "--broker", context.broker.url, "--ven-id", venId, "--state-dir", join(context.workDir, "state-roundtrip"), "--log-level", "warn"];
    const ven = spawnTracked(venArgs, { cwd: context.workDir, stderr: "inherit" });
    const node = spawnTracked(["node", NODE_RESPONDER, context.broker.url, nodeId], { cwd: context.workDir, stderr: "inherit" });
    const client = await mqtt.connectAsync(context.broker.url, { protocolVersion: 5, reconnectPeriod: 0, clientId: "bench-roundtrip-client" });

    const rows: string[][] = [["Rate", "Pings", "Figure", "ven", "Node MQTT.js responder", "broker alone", "ven / Node", "ven / broker"]];
    const findings: Finding[] = [];
    try {
      await waitForResponder(client, `ven/cmd/${venId}`, `ven/ack/${venId}`);
      await waitForResponder(client, `ven/cmd/${nodeId}`, `ven/ack/${nodeId}`);
      for (const { perSecond, count } of rates) {
        context.log(`roundtrip: ${count} pings at ${perSecond}/s to each responder`);
        const venResult = await measure(client, `ven/cmd/${venId}`, `ven/ack/${venId}`, perSecond, count, `ven-${perSecond}`);
        const nodeResult = await measure(client, `ven/cmd/${nodeId}`, `ven/ack/${nodeId}`, perSecond, count, `node-${perSecond}`);
        // The broker alone: the client's own ping comes straight back on the topic it subscribed to.
        const echoResult = await measure(client, "bench/echo", "bench/echo", perSecond, count, `echo-${perSecond}`);
        for (const [figure, p] of [["median (ms)", 50], ["99th percentile (ms)", 99]] as const) {
          const venMs = percentile(venResult.samples, p);
          const nodeMs = percentile(nodeResult.samples, p);
          const echoMs = percentile(echoResult.samples, p);
          rows.push([`${perSecond}/s`, String(count), figure, fixed(venMs, 2), fixed(nodeMs, 2), fixed(echoMs, 2), ratio(venMs, nodeMs), ratio(venMs, echoMs)]);
          if (p === 99) findings.push({ target: `ping to ack under 5 ms at the 99th percentile, ${perSecond}/s`, measured: `${fixed(venMs, 2)} ms`, met: venMs < 5 });
        }
        rows.push([`${perSecond}/s`, String(count), "lost (no ack in 5 s)", String(venResult.lost), String(nodeResult.lost), String(echoResult.lost), "", ""]);
      }
    } finally {
      await client.endAsync();
      await stopProcess(ven);
      await stopProcess(node);
    }
    return {
      kind: "measured",
      table: rows,
      notes: [
        "One MQTT.js client in the harness (Bun) publishes each ping with QoS 1 and timestamps it, then matches the ack by correlationId. All three responders run at the same time against the same mosquitto over loopback, and are measured one after the other.",
        "mosquitto runs with `set_tcp_nodelay true`. With its default, Nagle's algorithm in the broker held the ack until the client's delayed ACK, and every round trip through ven or the Node responder took about 40 ms.",
        "Median and 99th percentile are nearest-rank figures over all pings of one rate; AWS IoT Core allows 100 publishes per second per connection, hence the higher rate.",
      ],
      commands: [
        venArgs.join(" "),
        `node test/bench/peers/node-responder.cjs ${context.broker.url} ${nodeId}`,
      ],
      findings,
    };
  },
};
