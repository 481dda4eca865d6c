import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import mqtt from "mqtt";
import { skipEndToEnd, VenInstall } from "../helpers/binary.ts";
import { missingDynsecPrerequisites, startMosquittoWithDynsec } from "../helpers/mosquitto-dynsec.ts";
import { type BinaryAndBroker, runArgs, useBinaryAndBroker, waitForStatus } from "./support.ts";

const VEN_ID = "ven-e2e-004";

let env: BinaryAndBroker;

async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(50);
  }
}

describe.skipIf(skipEndToEnd())("ven binary through failures", () => {
  env = useBinaryAndBroker(VEN_ID);

  test("second run with one venId exits 5", async () => {
    const stateDir = env.install.newStateDir();
    const first = env.install.spawn(runArgs(env.target, stateDir));
    await waitForStatus(env.broker, VEN_ID, first.pid, "online");

    const second = await env.install.run(runArgs(env.target, stateDir));
    expect(second.exitCode, second.stderr).toBe(5);
    expect(second.stderr).toContain(`process ${first.pid}`);
    expect(first.running).toBe(true);
  }, 20_000);

  test.each(["5", "3.1.1"])("broker restart, MQTT %s: ping acked in 2 s", async (version) => {
    const stateDir = env.install.newStateDir();
    const ven = env.install.spawn([...runArgs(env.target, stateDir), "--mqtt-version", version]);
    await waitForStatus(env.broker, VEN_ID, ven.pid, "online");

    await env.broker.restart();
    await waitForStatus(env.broker, VEN_ID, ven.pid, "online", 10_000);
    const acks = env.broker.subscribe(`ven/ack/${VEN_ID}`, { count: 1, timeoutS: 5 });
    await acks.ready;
    const sentAt = performance.now();
    await env.broker.pub(`ven/cmd/${VEN_ID}`, JSON.stringify({ op: "ping", correlationId: `restart-${version}` }));
    const [ack] = await acks.messages;
    expect(performance.now() - sentAt).toBeLessThan(2000);
    expect(JSON.parse(ack!.text)).toMatchObject({ op: "ping", status: "success", correlationId: `restart-${version}` });
  }, 30_000);

  test("frozen broker is detected by keep-alive", async () => {
    const stateDir = env.install.newStateDir();
    const args = runArgs(env.target, stateDir);
    args[args.indexOf("--keepalive") + 1] = "2";
    const ven = env.install.spawn(args);
    await waitForStatus(env.broker, VEN_ID, ven.pid, "online");
    env.broker.freeze();
    try {
      const frozenAt = performance.now();
      await waitFor(() => ven.stderr.includes("Keepalive timeout"), 8000, "the keep-alive timeout");
      // 1.5 x keep-alive, plus the time to the first PINGREQ after the last traffic.
      expect(performance.now() - frozenAt).toBeLessThan(5000);
    } finally {
      env.broker.thaw();
    }
    await waitForStatus(env.broker, VEN_ID, ven.pid, "online", 10_000);
  }, 30_000);

  test("listen stdout stays JSON lines across a restart", async () => {
    const stateDir = env.install.newStateDir();
    const ven = env.install.spawn(runArgs(env.target, stateDir));
    await waitForStatus(env.broker, VEN_ID, ven.pid, "online");
    const listen = env.install.spawn(["listen", "--broker", env.broker.url, "--ven-id", VEN_ID, "--output", "jsonl", "--timeout", "6", "--reconnect-min-delay", "0.2", "--reconnect-max-delay", "1"]);
    await Bun.sleep(1500);
    await env.broker.restart();
    const result = await listen.waitForExit(15_000);
    expect(result.exitCode, result.stderr).toBe(0);
    const lines = result.stdout.trimEnd().split("\n");
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const line of lines) {
      expect(line).not.toMatch(/\u001b\[/);
      expect(() => JSON.parse(line)).not.toThrow();
    }
    expect(result.stderr).toContain("Disconnected");
  }, 30_000);

  test("SIGKILL during an outage loses nothing stored", async () => {
    // A subscriber for the whole test that reconnects and subscribes again after the broker restart.
    const seqs = new Set<number>();
    const watcher = mqtt.connect(env.broker.url, { clientId: "e2e-metering-watcher", protocolVersion: 4, reconnectPeriod: 100 });
    watcher.on("connect", () => watcher.subscribe("volttron/metering", { qos: 1 }));
    watcher.on("message", (_topic, payload) => seqs.add((JSON.parse(payload.toString()) as { seq: number }).seq));
    try {
      await waitFor(() => watcher.connected, 5000, "the watcher");
      const stateDir = env.install.newStateDir();
      const ven = env.install.spawn(runArgs(env.target, stateDir));
      await waitForStatus(env.broker, VEN_ID, ven.pid, "online");
      await waitFor(() => seqs.size > 0, 5000, "the first telemetry");

      await env.broker.stop();
      await Bun.sleep(3500);
      ven.kill("SIGKILL");
      await ven.waitForExit(5000);
      const lastSeq = Number(readFileSync(join(stateDir, "seq"), "utf8"));
      expect(lastSeq).toBeGreaterThanOrEqual(4);

      await env.broker.restart();
      await waitFor(() => watcher.connected, 5000, "the watcher to reconnect");
      await Bun.sleep(300);
      const again = env.install.spawn(runArgs(env.target, stateDir));
      // SIGKILL may cut the record being written, so the last number may be missing; no other.
      await waitFor(() => Array.from({ length: lastSeq - 1 }, (_, index) => index + 1).every((seq) => seqs.has(seq)), 10_000, "every stored seq");
      expect(again.running).toBe(true);
    } finally {
      watcher.end(true);
    }
  }, 30_000);

  // unshare needs root (CI runs as root).
  test.skipIf(process.getuid?.() !== 0)("as PID 1 without a terminal, SIGTERM stops it", async () => {
    const stateDir = env.install.newStateDir();
    const wrapper = Bun.spawn(["unshare", "--pid", "--fork", "--mount-proc", env.install.binary, ...runArgs(env.target, stateDir)], {
      env: { PATH: "/usr/bin:/bin:/usr/sbin:/sbin", HOME: env.install.home },
      stdin: "pipe",
      stdout: "pipe",
      stderr: "pipe",
    });
    try {
      // The VEN runs as PID 1 of its own namespace; on the host it is the wrapper's child.
      let hostPid = 0;
      await waitFor(() => {
        try {
          hostPid = Number(readFileSync(`/proc/${wrapper.pid}/task/${wrapper.pid}/children`, "utf8").trim().split(" ")[0]);
        } catch {
          hostPid = 0;
        }
        return hostPid > 0;
      }, 5000, "the VEN process");
      await waitFor(() => readFileSync(join("/proc", String(hostPid), "status"), "utf8").includes("NSpid:"), 2000, "the namespace");
      expect(readFileSync(join("/proc", String(hostPid), "status"), "utf8")).toMatch(/NSpid:\s+\d+\s+1\b/);
      await waitFor(() => {
        try {
          return readFileSync(join(stateDir, "health.json"), "utf8").includes('"connected": true');
        } catch {
          return false;
        }
      }, 10_000, "the connection");

      const signalledAt = performance.now();
      process.kill(hostPid, "SIGTERM");
      await wrapper.exited;
      expect(performance.now() - signalledAt).toBeLessThan(5000);
      const health = JSON.parse(readFileSync(join(stateDir, "health.json"), "utf8")) as { stopped: boolean };
      expect(health.stopped).toBe(true);
    } finally {
      wrapper.kill("SIGKILL");
    }
  }, 30_000);

  test("ven status follows the running VEN", async () => {
    const stateDir = env.install.newStateDir();
    const ven = env.install.spawn(runArgs(env.target, stateDir));
    await waitForStatus(env.broker, VEN_ID, ven.pid, "online");
    await Bun.sleep(1500);
    const healthy = await env.install.run(["status", "--ven-id", VEN_ID, "--state-dir", stateDir]);
    expect(healthy.exitCode, healthy.stdout + healthy.stderr).toBe(0);

    ven.kill("SIGTERM");
    await ven.waitForExit(5000);
    const stopped = await env.install.run(["status", "--ven-id", VEN_ID, "--state-dir", stateDir]);
    expect(stopped.exitCode).toBe(1);
    expect(stopped.stdout).toContain("stopped");
  }, 20_000);
});

describe.skipIf(skipEndToEnd() || (missingDynsecPrerequisites().length > 0 && process.env.CI !== "true"))("ven binary and a denied subscription", () => {
  test("SUBACK denial makes ven status unhealthy", async () => {
    expect(missingDynsecPrerequisites()).toEqual([]);
    const venId = "ven-e2e-005";
    const denied = await startMosquittoWithDynsec({ deniedSubscriptions: [`ven/cmd/${venId}`], username: "ven-device", password: "device-secret-1" });
    const install = await VenInstall.create();
    try {
      const stateDir = install.newStateDir();
      const ven = install.spawn([...runArgs({ broker: denied, venId }, stateDir), "--username", "ven-device"], { env: { VEN_PASSWORD: "device-secret-1" } });
      await waitFor(() => ven.stderr.includes("Broker rejected the subscription"), 10_000, "the refused subscription");
      await Bun.sleep(500);
      const status = await install.run(["status", "--ven-id", venId, "--state-dir", stateDir]);
      expect(status.exitCode).toBe(1);
      expect(status.stdout).toContain(`subscription rejected by the broker: ven/cmd/${venId}`);
      expect(ven.stderr).not.toContain("device-secret-1");
    } finally {
      await install.dispose();
      await denied.dispose();
    }
  }, 30_000);
});

