import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Client } from "aedes";
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { TLSSocket } from "node:tls";
import { writeCertificateFiles } from "../../src/certs/files.ts";
import { startAedes, type AedesHandle } from "../helpers/brokers.ts";
import { runCli } from "../helpers/cli.ts";
import { ManualClock } from "../helpers/clock.ts";
import { issueClientCertificate } from "../helpers/issue-cert.ts";
import { makeTestPki, TEST_CLIENT_CN, type TestPki } from "../helpers/pki.ts";
import { makeTempDir, removeTempDir } from "../helpers/tempdirs.ts";

let pki: TestPki;
let broker: AedesHandle;
let cwd: string;
/** SHA-256 fingerprints of the client certificates the broker saw, in connection order. */
const seen: string[] = [];

beforeAll(async () => {
  pki = await makeTestPki();
  broker = await startAedes({ tls: pki, requireCertificate: true });
  broker.broker.on("client", (client: Client) => {
    const socket = (client as unknown as { conn: TLSSocket }).conn;
    seen.push(socket.getPeerCertificate().fingerprint256);
  });
  cwd = await makeTempDir("ven-rotation-");
});

afterAll(async () => {
  await broker.close();
  await removeTempDir(cwd);
});

async function waitFor(condition: () => boolean, clock: ManualClock): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met; fingerprints seen: ${JSON.stringify(seen)}`);
    clock.advance(1000);
    await Bun.sleep(20);
  }
}

test("running VEN picks up rotated files", async () => {
  const files = { ca: join(cwd, "certs/ca.pem"), cert: join(cwd, "certs/client.crt"), key: join(cwd, "certs/client.key") };
  writeCertificateFiles(files, { ca: pki.pem.caCert, cert: pki.pem.clientCert, key: pki.pem.clientKey });
  const fresh = await issueClientCertificate(pki, cwd, "rotated", 365, TEST_CLIENT_CN);
  const oldPrint = new X509Certificate(pki.pem.clientCert).fingerprint256;
  const newPrint = new X509Certificate(readFileSync(fresh.cert)).fingerprint256;

  const clock = new ManualClock(Date.now());
  const stop = new AbortController();
  const args = ["run", "--broker", broker.url, "--ven-id", TEST_CLIENT_CN, "--state-dir", join(cwd, "state"), "--mqtt-version", "3.1.1"];
  const running = runCli(args, { cwd, clock, stopSignal: stop.signal });
  try {
    await waitFor(() => seen.includes(oldPrint), clock);
    writeCertificateFiles(files, { ca: pki.pem.caCert, cert: readFileSync(fresh.cert, "utf8"), key: readFileSync(fresh.key, "utf8") });
    await waitFor(() => seen.includes(newPrint), clock);
  } finally {
    stop.abort("SIGTERM");
  }
  const { code, stderr } = await running;
  expect(code).toBe(0);
  expect(stderr).toContain("expires on");
  expect(stderr).toContain("Certificate files changed: reconnecting");
  expect(seen.at(-1)).toBe(newPrint);
});
