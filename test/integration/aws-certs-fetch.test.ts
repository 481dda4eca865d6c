import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { runCli } from "../helpers/cli.ts";
import { ManualClock } from "../helpers/clock.ts";
import { startFakeAws, TEST_CREDENTIALS, useAwsTestEnvironment, type AwsTestEnvironment, type FakeAws } from "../helpers/fake-aws.ts";
import { makeTestPki, type TestPki } from "../helpers/pki.ts";
import { makeTempDir, removeTempDir } from "../helpers/tempdirs.ts";

const SECRET = "dev-volttron-tls";

let pki: TestPki;
let fake: FakeAws;
let aws: AwsTestEnvironment;
let cwd: string;

beforeAll(async () => {
  pki = await makeTestPki();
  fake = await startFakeAws({
    secrets: {
      [SECRET]: JSON.stringify({ ca_cert: pki.pem.caCert, client_cert: pki.pem.clientCert, private_key: pki.pem.clientKey }),
      "missing-key": JSON.stringify({ ca_cert: pki.pem.caCert, client_cert: pki.pem.clientCert }),
      "wrong-key": JSON.stringify({ ca_cert: pki.pem.caCert, client_cert: pki.pem.clientCert, private_key: pki.pem.otherKey }),
      "not-json": "-----BEGIN PRIVATE KEY----- secret",
    },
  });
  aws = await useAwsTestEnvironment(fake.url);
});

afterAll(async () => {
  await aws.restore();
  await fake.close();
});

beforeEach(async () => {
  cwd = await makeTempDir("ven-fetch-");
});

afterEach(async () => {
  await removeTempDir(cwd);
});

const certFiles = () => ({ ca: join(cwd, "certs/ca.pem"), cert: join(cwd, "certs/client.crt"), key: join(cwd, "certs/client.key") });

function fetchCli(args: string[], env: Record<string, string> = aws.env) {
  return runCli(["certs", "fetch", ...args], { cwd, env, clock: new ManualClock(Date.now()) });
}

describe("ven certs fetch --secret", () => {
  test("writes the three files", async () => {
    const { code, stderr } = await fetchCli(["--secret", SECRET]);
    expect(stderr).not.toContain("ven:");
    expect(code).toBe(0);
    const files = certFiles();
    expect(readFileSync(files.ca, "utf8")).toBe(pki.pem.caCert);
    expect(readFileSync(files.cert, "utf8")).toBe(pki.pem.clientCert);
    expect(readFileSync(files.key, "utf8")).toBe(pki.pem.clientKey);
  });

  test("key file has mode 0600", async () => {
    await fetchCli(["--secret", SECRET]);
    expect(statSync(certFiles().key).mode & 0o777).toBe(0o600);
  });

  test("prints no key material", async () => {
    const { stdout, stderr } = await fetchCli(["--secret", SECRET, "--log-level", "debug"]);
    expect(stdout + stderr).not.toContain("PRIVATE KEY");
    expect(stdout + stderr).not.toContain("BEGIN CERTIFICATE");
    expect((JSON.parse(stdout) as { certificateId: string }).certificateId).toMatch(/^[0-9a-f]{64}$/);
  });

  test("request is signed for secretsmanager", async () => {
    const before = fake.requests.length;
    await fetchCli(["--secret", SECRET]);
    const seen = fake.requests.slice(before);
    expect(seen.map((request) => request.operation)).toEqual(["secretsmanager.GetSecretValue"]);
    expect(seen[0]!.signingService).toBe("secretsmanager");
    expect(seen[0]!.signatureValid).toBe(true);
  });

  test("honours --cert and --key paths", async () => {
    const args = ["--secret", SECRET, "--ca", "tls/ca.pem", "--cert", "tls/ven.crt", "--key", "tls/ven.key"];
    expect((await fetchCli(args)).code).toBe(0);
    expect(existsSync(join(cwd, "tls/ven.key"))).toBe(true);
    expect(existsSync(certFiles().key)).toBe(false);
  });

  test("unknown secret fails with a hint", async () => {
    const { code, stderr } = await fetchCli(["--secret", "no-such-secret"]);
    expect(code).toBe(1);
    expect(stderr).toContain("ResourceNotFoundException");
    expect(stderr).toContain("--region");
  });

  test("wrong credentials are rejected", async () => {
    const env = { ...aws.env, AWS_SECRET_ACCESS_KEY: "wrong-secret" };
    const saved = process.env.AWS_SECRET_ACCESS_KEY;
    process.env.AWS_SECRET_ACCESS_KEY = "wrong-secret";
    try {
      const { code, stderr } = await fetchCli(["--secret", SECRET], env);
      expect(code).toBe(1);
      expect(stderr).toContain("InvalidSignatureException");
    } finally {
      process.env.AWS_SECRET_ACCESS_KEY = saved;
    }
    expect(fake.requests.at(-1)!.signatureValid).toBe(false);
  });

  test("missing field names it", async () => {
    const { code, stderr } = await fetchCli(["--secret", "missing-key"]);
    expect(code).toBe(1);
    expect(stderr).toContain("private_key");
    expect(existsSync(certFiles().cert)).toBe(false);
  });

  test("mismatched key writes nothing", async () => {
    const { code, stderr } = await fetchCli(["--secret", "wrong-key"]);
    expect(code).toBe(1);
    expect(stderr).toContain("does not belong");
    expect(existsSync(certFiles().ca)).toBe(false);
  });

  test("non-JSON secret is not echoed", async () => {
    const { code, stderr } = await fetchCli(["--secret", "not-json"]);
    expect(code).toBe(1);
    expect(stderr).toContain("not JSON");
    expect(stderr).not.toContain("PRIVATE KEY");
  });

  test("no credentials explains where they come from", async () => {
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
    delete process.env.AWS_ACCESS_KEY_ID;
    delete process.env.AWS_SECRET_ACCESS_KEY;
    try {
      const { code, stderr } = await fetchCli(["--secret", SECRET]);
      expect(code).toBe(1);
      expect(stderr).toContain("no AWS credentials");
      expect(stderr).toContain("site device");
    } finally {
      process.env.AWS_ACCESS_KEY_ID = saved.id;
      process.env.AWS_SECRET_ACCESS_KEY = saved.secret;
    }
  });
});

describe("ven certs fetch from variables", () => {
  test("writes files from PEM variables", async () => {
    const env = { CA_CERT_PEM: pki.pem.caCert, CLIENT_CERT_PEM: pki.pem.clientCert, PRIVATE_KEY_PEM: pki.pem.clientKey };
    const before = fake.requests.length;
    const { code } = await fetchCli([], env);
    expect(code).toBe(0);
    expect(readFileSync(certFiles().key, "utf8")).toBe(pki.pem.clientKey);
    expect(fake.requests.length).toBe(before);
  });

  test("escaped newlines are restored", async () => {
    const flat = (text: string) => text.trimEnd().replace(/\n/g, "\\n");
    const env = { CA_CERT_PEM: flat(pki.pem.caCert), CLIENT_CERT_PEM: flat(pki.pem.clientCert), PRIVATE_KEY_PEM: flat(pki.pem.clientKey) };
    expect((await fetchCli([], env)).code).toBe(0);
    expect(readFileSync(certFiles().cert, "utf8")).toBe(pki.pem.clientCert.trimEnd());
  });

  test("partial variables name the missing one", async () => {
    const { code, stderr } = await fetchCli([], { CA_CERT_PEM: pki.pem.caCert, CLIENT_CERT_PEM: pki.pem.clientCert });
    expect(code).toBe(2);
    expect(stderr).toContain("PRIVATE_KEY_PEM");
  });

  test("no source is a usage error", async () => {
    const { code, stderr } = await fetchCli([], {});
    expect(code).toBe(2);
    expect(stderr).toContain("--secret");
  });
});

test("test credentials are not real", () => {
  expect(TEST_CREDENTIALS.accessKeyId).toContain("VENTEST");
});
