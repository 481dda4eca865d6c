import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { runCli } from "../helpers/cli.ts";
import { ManualClock } from "../helpers/clock.ts";
import { issueClientCertificate } from "../helpers/issue-cert.ts";
import { makeTestPki, type TestPki } from "../helpers/pki.ts";
import { makeTempDir, removeTempDir } from "../helpers/tempdirs.ts";

let pki: TestPki;
let scratch: string;
let longLived: { cert: string; key: string };

beforeAll(async () => {
  pki = await makeTestPki();
  scratch = await makeTempDir("ven-certs-cli-");
  longLived = await issueClientCertificate(pki, scratch, "long-lived", 365);
});

afterAll(async () => {
  await removeTempDir(scratch);
});

function checkCli(files: { ca?: string; cert: string; key: string }, extra: string[] = []) {
  const args = ["certs", "check", "--cert", files.cert, "--key", files.key, ...(files.ca ? ["--ca", files.ca] : []), ...extra];
  return runCli(args, { clock: new ManualClock(Date.now()) });
}

describe("ven certs check", () => {
  test("valid files exit 0", async () => {
    const { code, stdout } = await checkCli({ ca: pki.files.caCert, ...longLived }, ["--output", "pretty"]);
    expect(code).toBe(0);
    expect(stdout).toContain("OK: no problems found");
    expect(stdout).toContain("364 days left");
    expect(stdout).toContain("matches the certificate");
    expect(stdout).toContain("signed by the CA");
  });

  test("expired exits 1", async () => {
    expect((await checkCli({ cert: pki.files.expiredClientCert, key: pki.files.clientKey })).code).toBe(1);
  });

  test("mismatched key exits 1", async () => {
    expect((await checkCli({ cert: longLived.cert, key: pki.files.otherKey })).code).toBe(1);
  });

  test("near expiry warns and exits 0", async () => {
    const { code, stdout } = await checkCli({ ca: pki.files.caCert, cert: pki.files.clientCert, key: pki.files.clientKey }, ["--output", "pretty"]);
    expect(code).toBe(0);
    expect(stdout).toContain("WARN");
  });

  test("--strict makes warnings fail", async () => {
    expect((await checkCli({ ca: pki.files.caCert, cert: pki.files.clientCert, key: pki.files.clientKey }, ["--strict"])).code).toBe(1);
  });

  test("jsonl prints the report", async () => {
    const { stdout } = await checkCli({ ca: pki.files.foreignCaCert, ...longLived });
    const report = JSON.parse(stdout) as { chain: string; findings: { code: string }[] };
    expect(report.chain).toBe("broken");
    expect(report.findings.map((finding) => finding.code)).toEqual(["chain-broken"]);
  });

  test("missing default files exit 1", async () => {
    const { code, stdout } = await runCli(["certs", "check", "--output", "pretty"]);
    expect(code).toBe(1);
    expect(stdout).toContain("not found");
  });
});

describe("ven certs", () => {
  test("without subcommand is usage", async () => {
    expect((await runCli(["certs"])).code).toBe(2);
  });

  test("unknown subcommand suggests", async () => {
    const { code, stderr } = await runCli(["certs", "chek"]);
    expect(code).toBe(2);
    expect(stderr).toContain("ven certs check");
  });

  test("--help lists subcommands", async () => {
    const { code, stdout } = await runCli(["certs", "--help"]);
    expect(code).toBe(0);
    expect(stdout).toContain("fetch");
    expect(stdout).toContain("check");
  });
});
