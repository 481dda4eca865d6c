import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { writeCertificateFiles } from "../../src/certs/files.ts";
import { CertificateWatcher } from "../../src/certs/watch.ts";
import type { TlsMaterial } from "../../src/config/tls-files.ts";
import { createLogger } from "../../src/logger.ts";
import { ManualClock } from "../helpers/clock.ts";
import { issueClientCertificate } from "../helpers/issue-cert.ts";
import { makeTestPki, type TestPki } from "../helpers/pki.ts";
import { makeTempDir, removeTempDir } from "../helpers/tempdirs.ts";

const DAY_MS = 24 * 60 * 60 * 1000;

let pki: TestPki;
let scratch: string;
let longLived: { cert: string; key: string };
let dir: string;
let logs: string[];
let rotations: TlsMaterial[];
let clock: ManualClock;

beforeAll(async () => {
  pki = await makeTestPki();
  scratch = await makeTempDir("ven-watch-");
  longLived = await issueClientCertificate(pki, scratch, "long-lived", 365);
});

afterAll(async () => {
  await removeTempDir(scratch);
});

const files = () => ({ ca: join(dir, "ca.pem"), cert: join(dir, "client.crt"), key: join(dir, "client.key") });

function writeFiles(cert: string, key: string): void {
  writeCertificateFiles(files(), { ca: pki.pem.caCert, cert: readFileSync(cert, "utf8"), key: readFileSync(key, "utf8") });
}

function startWatcher(): CertificateWatcher {
  const log = createLogger({ level: "debug", format: "pretty", sink: { write: (text) => logs.push(text) } });
  const watcher = new CertificateWatcher({ files: { ...files(), insecure: false }, clock, log, pollMs: 1000, onRotate: (tls) => rotations.push(tls) });
  watcher.start();
  return watcher;
}

const warnings = () => logs.filter((line) => line.includes("WARN") && line.includes("expires on"));

beforeEach(async () => {
  dir = join(scratch, `case-${Math.random().toString(16).slice(2)}`);
  logs = [];
  rotations = [];
  clock = new ManualClock(Date.now());
});

describe("CertificateWatcher", () => {
  test("expiring certificate warns once a day", () => {
    writeFiles(pki.files.clientCert, pki.files.clientKey);
    const watcher = startWatcher();
    expect(warnings()).toHaveLength(1);
    clock.advance(60_000);
    expect(warnings()).toHaveLength(1);
    clock.advance(DAY_MS);
    expect(warnings()).toHaveLength(2);
    watcher.stop();
  });

  test("long-lived certificate does not warn", () => {
    writeFiles(longLived.cert, longLived.key);
    startWatcher().stop();
    expect(warnings()).toHaveLength(0);
  });

  test("changed files are handed over", () => {
    writeFiles(pki.files.clientCert, pki.files.clientKey);
    const watcher = startWatcher();
    clock.advance(5000);
    expect(rotations).toHaveLength(0);
    writeFiles(longLived.cert, longLived.key);
    clock.advance(1000);
    expect(rotations).toHaveLength(1);
    expect(rotations[0]!.cert?.toString()).toBe(readFileSync(longLived.cert, "utf8"));
    expect(logs.some((line) => line.includes("Certificate files changed: reconnecting"))).toBe(true);
    watcher.stop();
  });

  test("mismatched new key is not used", () => {
    writeFiles(pki.files.clientCert, pki.files.clientKey);
    const watcher = startWatcher();
    writeFiles(longLived.cert, pki.files.clientKey);
    clock.advance(3000);
    expect(rotations).toHaveLength(0);
    expect(logs.filter((line) => line.includes("were not used"))).toHaveLength(1);
    writeFiles(longLived.cert, longLived.key);
    clock.advance(1000);
    expect(rotations).toHaveLength(1);
    watcher.stop();
  });

  test("stop ends polling", () => {
    writeFiles(pki.files.clientCert, pki.files.clientKey);
    startWatcher().stop();
    expect(clock.pending).toBe(0);
  });
});
