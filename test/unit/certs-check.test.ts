import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { X509Certificate } from "node:crypto";
import { chmodSync, copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { checkCertificates, reportFailed, type CertificateReport } from "../../src/certs/check.ts";
import { formatReport } from "../../src/certs/format.ts";
import { ManualClock } from "../helpers/clock.ts";
import { issueClientCertificate } from "../helpers/issue-cert.ts";
import { makeTestPki, type TestPki } from "../helpers/pki.ts";
import { makeTempDir, removeTempDir } from "../helpers/tempdirs.ts";

let pki: TestPki;
let scratch: string;
let longLived: { cert: string; key: string };

beforeAll(async () => {
  pki = await makeTestPki();
  scratch = await makeTempDir("ven-certs-check-");
  longLived = await issueClientCertificate(pki, scratch, "long-lived", 365);
});

afterAll(async () => {
  await removeTempDir(scratch);
});

function check(files: CertificateReport["files"]): CertificateReport {
  return checkCertificates(files, new ManualClock(Date.now()));
}

function codes(report: CertificateReport): string[] {
  return report.findings.map((finding) => `${finding.level}:${finding.code}`);
}

describe("checkCertificates", () => {
  test("valid files have no findings", () => {
    const report = check({ ca: pki.files.caCert, ...longLived });
    expect(report.findings).toEqual([]);
    expect(report.keyMatches).toBe(true);
    expect(report.chain).toBe("ok");
    expect(report.subject).toBe("CN=ven-test-001");
    expect(report.issuer).toBe("CN=ven test CA");
    expect(report.daysLeft).toBe(364);
  });

  test("fingerprint is the SHA-256 in hex", () => {
    const expected = new X509Certificate(readFileSync(longLived.cert)).fingerprint256.replace(/:/g, "").toLowerCase();
    expect(check({ ...longLived }).fingerprint).toBe(expected);
    expect(expected).toMatch(/^[0-9a-f]{64}$/);
  });

  test("expired certificate is an error", () => {
    const report = check({ ca: pki.files.caCert, cert: pki.files.expiredClientCert, key: pki.files.clientKey });
    expect(codes(report)).toEqual(["error:expired"]);
    expect(report.daysLeft).toBeLessThan(0);
  });

  test("future certificate is not yet valid", () => {
    expect(codes(check({ ca: pki.files.caCert, cert: pki.files.futureClientCert, key: pki.files.clientKey }))).toEqual(["error:not-yet-valid"]);
  });

  test("foreign CA breaks the chain", () => {
    const report = check({ ca: pki.files.caCert, cert: pki.files.foreignClientCert, key: pki.files.foreignClientKey });
    expect(report.chain).toBe("broken");
    expect(codes(report)).toContain("error:chain-broken");
  });

  test("mismatched key is an error", () => {
    const report = check({ ca: pki.files.caCert, cert: longLived.cert, key: pki.files.otherKey });
    expect(report.keyMatches).toBe(false);
    expect(codes(report)).toEqual(["error:key-mismatch"]);
  });

  test("key given as certificate is wrong format", () => {
    const report = check({ cert: pki.files.clientKey, key: pki.files.clientKey });
    expect(codes(report)).toEqual(["error:wrong-format"]);
    expect(report.findings[0]!.message).toContain("a private key, not a certificate");
  });

  test("text file as key is wrong format", () => {
    const notes = join(scratch, "notes.txt");
    writeFileSync(notes, "not a key\n", { mode: 0o600 });
    expect(codes(check({ cert: longLived.cert, key: notes }))).toEqual(["error:wrong-format"]);
  });

  test("missing file is unreadable", () => {
    const report = check({ cert: join(scratch, "absent.crt"), key: longLived.key });
    expect(codes(report)).toEqual(["error:unreadable"]);
    expect(report.findings[0]!.message).toContain("not found");
  });

  test("near expiry is only a warning", () => {
    const report = check({ ca: pki.files.caCert, cert: pki.files.clientCert, key: pki.files.clientKey });
    expect(codes(report)).toEqual(["warning:expires-soon"]);
    expect(reportFailed(report, false)).toBe(false);
    expect(reportFailed(report, true)).toBe(true);
  });

  test("key readable by others warns", () => {
    const key = join(scratch, "open.key");
    copyFileSync(longLived.key, key);
    chmodSync(key, 0o644);
    const report = check({ cert: longLived.cert, key });
    expect(report.keyMode).toBe("0644");
    expect(codes(report)).toEqual(["warning:key-readable-by-others"]);
  });

  test("no CA skips the chain", () => {
    expect(check({ ...longLived }).chain).toBe("no-ca");
  });

  test("clock decides expiry", () => {
    const later = checkCertificates({ ...longLived }, new ManualClock(Date.now() + 400 * 24 * 60 * 60 * 1000));
    expect(codes(later)).toEqual(["error:expired"]);
  });
});

describe("formatReport", () => {
  test("shows facts and findings", () => {
    const text = formatReport(check({ ca: pki.files.caCert, cert: pki.files.clientCert, key: pki.files.otherKey }));
    expect(text).toContain("subject      CN=ven-test-001");
    expect(text).toContain("days left");
    expect(text).toContain("AWS IoT certificate id");
    expect(text).toContain("does NOT match");
    expect(text).toContain("ERROR");
    expect(text).toContain("WARN");
  });

  test("never prints key material", () => {
    const text = formatReport(check({ ca: pki.files.caCert, cert: pki.files.clientCert, key: pki.files.clientKey }));
    expect(text).not.toContain("PRIVATE KEY");
  });
});
