import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { connect } from "node:tls";
import { startAedes, type AedesHandle } from "../helpers/brokers.ts";
import { startAlpnListener, type AlpnListener } from "../helpers/alpn-listener.ts";
import { makeTestPki, type TestPki } from "../helpers/pki.ts";
import { startAgent, waitUntil, type AgentUnderTest } from "./agent-harness.ts";

// Port 443 itself, because the ALPN protocol is offered only there. Binding it needs root or
// CAP_NET_BIND_SERVICE, which CI has. Elsewhere these tests are skipped with a notice.
const PORT = 443;

let pki: TestPki;
let broker: AedesHandle;
let listener: AlpnListener | undefined;
let bindProblem: string | undefined;
let running: AgentUnderTest | undefined;

beforeAll(async () => {
  pki = await makeTestPki();
  broker = await startAedes();
  try {
    listener = await startAlpnListener(broker.broker, pki, PORT, "x-amzn-mqtt-ca");
  } catch (error) {
    bindProblem = (error as Error).message;
    console.warn(`ALPN tests skipped: cannot listen on 127.0.0.1:${PORT} (${bindProblem})`);
  }
});

afterEach(async () => {
  await running?.agent.stop(200);
  running = undefined;
});

afterAll(async () => {
  await listener?.close();
  await broker.close();
});

describe("MQTT over TLS on port 443", () => {
  test("VEN offers x-amzn-mqtt-ca and connects", async () => {
    if (!listener) return;
    running = await startAgent(`mqtts://127.0.0.1:${PORT}`, { ca: pki.files.caCert, cert: pki.files.clientCert, key: pki.files.clientKey });
    const ven = running;
    await waitUntil(() => ven.agent.supervisor.connected, ven.clock);
    const message = await broker.waitFor((candidate) => candidate.topic === "volttron/metering" && candidate.clientId === "ven-it-001");
    expect(message.qos).toBe(1);
  });

  test("listener rejects a client without ALPN", async () => {
    if (!listener) return;
    const before = listener.rejected.length;
    const socket = connect({ host: "127.0.0.1", port: PORT, ca: pki.pem.caCert, cert: pki.pem.clientCert, key: pki.pem.clientKey });
    socket.on("error", () => undefined);
    await new Promise<void>((resolve) => socket.once("close", () => resolve()));
    expect(listener.rejected.length).toBe(before + 1);
  });
});
