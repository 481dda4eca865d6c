import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { X509Certificate } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadTlsMaterial } from "../../src/config/tls-files.ts";
import { ConfigError } from "../../src/errors.ts";
import { ManualClock } from "../helpers/clock.ts";
import { makeTestPki, type TestPki } from "../helpers/pki.ts";
import { makeTempDir, removeTempDir } from "../helpers/tempdirs.ts";

const DAY_MS = 24 * 60 * 60 * 1000;

let pki: TestPki;
let scratch: string;
let notPem: string;

beforeAll(async () => {
  pki = await makeTestPki();
  scratch = await makeTempDir("ven-tls-");
  notPem = join(scratch, "notes.txt");
  writeFileSync(notPem, "this is not a certificate\n");
});

afterAll(async () => {
  await removeTempDir(scratch);
});

type TlsSettings = { ca?: string; cert?: string; key?: string };

/** Calls loadTlsMaterial at `nowMs` and returns the ConfigError it throws. */
function tlsError(tls: TlsSettings, nowMs = Date.now()): ConfigError {
  try {
    loadTlsMaterial({ ...tls, insecure: false }, new ManualClock(nowMs));
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error("loadTlsMaterial did not throw");
}

describe("loadTlsMaterial", () => {
  test("valid pair loads", () => {
    const material = loadTlsMaterial(
      { ca: pki.files.caCert, cert: pki.files.clientCert, key: pki.files.clientKey, insecure: false },
      new ManualClock(Date.now()),
    );
    expect(material.ca?.toString()).toBe(pki.pem.caCert);
    expect(material.cert?.toString()).toBe(pki.pem.clientCert);
    expect(material.key?.toString()).toBe(pki.pem.clientKey);
  });

  test("nothing configured loads nothing", () => {
    expect(loadTlsMaterial({ insecure: false }, new ManualClock(Date.now()))).toEqual({});
  });

  test("CA alone loads", () => {
    const material = loadTlsMaterial({ ca: pki.files.caCert, insecure: false }, new ManualClock(Date.now()));
    expect(material.ca?.toString()).toBe(pki.pem.caCert);
  });

  test.each([
    ["stray key", "otherKey"],
    ["foreign key", "foreignClientKey"],
  ] as const)("%s names both files", (_name, keyItem) => {
    const error = tlsError({ cert: pki.files.clientCert, key: pki.files[keyItem] });
    expect(error.message).toContain("does not belong");
    expect(error.message).toContain(pki.files.clientCert);
    expect(error.message).toContain(pki.files[keyItem]);
  });

  test("expired cert names expiry date", () => {
    const validTo = new Date(new X509Certificate(readFileSync(pki.files.expiredClientCert)).validTo).toISOString();
    const error = tlsError({ cert: pki.files.expiredClientCert, key: pki.files.clientKey });
    expect(error.message).toContain("expired");
    expect(error.message).toContain(validTo);
    expect(error.message).toContain(pki.files.expiredClientCert);
  });

  test("future cert is not valid yet", () => {
    const validFrom = new Date(new X509Certificate(readFileSync(pki.files.futureClientCert)).validFrom).toISOString();
    const error = tlsError({ cert: pki.files.futureClientCert, key: pki.files.clientKey });
    expect(error.message).toContain("not valid yet");
    expect(error.message).toContain(validFrom);
  });

  test("clock decides expiry", () => {
    const error = tlsError({ cert: pki.files.clientCert, key: pki.files.clientKey }, Date.now() + 60 * DAY_MS);
    expect(error.message).toContain("expired");
  });

  test("clock decides validity start", () => {
    const error = tlsError({ cert: pki.files.futureClientCert, key: pki.files.clientKey }, Date.now());
    expect(error.message).toContain("not valid yet");
    expect(() => loadTlsMaterial({ cert: pki.files.futureClientCert, key: pki.files.clientKey, insecure: false }, new ManualClock(Date.now() + 1.5 * DAY_MS))).not.toThrow();
  });

  test("clock before build time skips not-yet-valid", () => {
    // A device without a real-time clock may start in 1970; that clock cannot judge a start date.
    const clock = new ManualClock(Date.UTC(1970, 0, 1));
    expect(() => loadTlsMaterial({ cert: pki.files.futureClientCert, key: pki.files.clientKey, insecure: false }, clock)).not.toThrow();
  });

  // Each case puts the bad file in one place and valid files elsewhere.
  const placements: [string, (bad: string) => TlsSettings, string][] = [
    ["CA", (bad) => ({ ca: bad }), "--ca"],
    ["cert", (bad) => ({ cert: bad, key: pki.files.clientKey }), "--cert"],
    ["key", (bad) => ({ cert: pki.files.clientCert, key: bad }), "--key"],
  ];

  test.each(placements)("non-PEM %s names file and flag", (_name, place, flag) => {
    const error = tlsError(place(notPem));
    expect(error.message).toContain(notPem);
    expect(error.message).toContain(flag);
    expect(error.message).toContain("Fix");
  });

  test("key given as cert is rejected", () => {
    const error = tlsError({ cert: pki.files.clientKey, key: pki.files.clientKey });
    expect(error.message).toContain("--cert");
  });

  test.each(placements)("missing %s is not found", (_name, place, flag) => {
    const missing = join(scratch, "absent.pem");
    const error = tlsError(place(missing));
    expect(error.message).toContain(missing);
    expect(error.message).toContain("not found");
    expect(error.message).toContain(flag);
  });

  test("errors exit with code 2", () => {
    expect(tlsError({ ca: notPem }).exitCode).toBe(2);
  });

  test("errors never contain key material", () => {
    const error = tlsError({ cert: pki.files.clientCert, key: pki.files.otherKey });
    expect(error.message).not.toContain("PRIVATE KEY");
  });
});
