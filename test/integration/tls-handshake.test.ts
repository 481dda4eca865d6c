import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { Aedes } from "aedes";
import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { createServer, type Server } from "node:tls";
import { issueClientCertificate } from "../helpers/issue-cert.ts";
import { makeTestPki, type TestPki } from "../helpers/pki.ts";
import { makeTempDir, removeTempDir } from "../helpers/tempdirs.ts";
import { startAgent, waitUntil, type AgentUnderTest } from "./agent-harness.ts";

let pki: TestPki;
let dir: string;
let running: AgentUnderTest | undefined;
const servers: { server: Server; broker: Aedes }[] = [];

beforeAll(async () => {
  pki = await makeTestPki();
  dir = await makeTempDir("ven-tls-handshake-");
});

afterEach(async () => {
  await running?.agent.stop(200);
  running = undefined;
});

afterAll(async () => {
  for (const { server, broker } of servers) {
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  await removeTempDir(dir);
});

/** A TLS MQTT broker on 127.0.0.1 that presents the given server certificate. */
async function brokerWithCertificate(certPath: string, keyPath: string): Promise<string> {
  const broker = await Aedes.createBroker({ maxClientsIdLength: 128 });
  const server = createServer(
    { cert: readFileSync(certPath), key: readFileSync(keyPath), ca: pki.pem.caCert, requestCert: true, rejectUnauthorized: true },
    broker.handle,
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  servers.push({ server, broker });
  return `mqtts://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function firstDisconnect(url: string): Promise<AgentUnderTest> {
  running = await startAgent(url, { ca: pki.files.caCert, cert: pki.files.clientCert, key: pki.files.clientKey });
  const ven = running;
  // Two failed attempts show that it backs off and retries instead of stopping.
  await waitUntil(() => ven.logs.filter((line) => line.includes("Connecting to")).length >= 2, ven.clock);
  expect(ven.agent.supervisor.connected).toBe(false);
  return ven;
}

describe("TLS handshake errors at run time", () => {
  test("expired server certificate is logged and retried", async () => {
    const url = await brokerWithCertificate(pki.files.expiredClientCert, pki.files.clientKey);
    const ven = await firstDisconnect(url);
    expect(ven.agent.supervisor.lastDisconnectCause).toMatch(/expired/i);
  });

  test("host name mismatch is logged and retried", async () => {
    const other = await issueClientCertificate(pki, dir, "other-host", 2, "broker.other.test");
    const url = await brokerWithCertificate(other.cert, other.key);
    const ven = await firstDisconnect(url);
    expect(ven.agent.supervisor.lastDisconnectCause).toMatch(/altnames|hostname|host name/i);
  });
});
