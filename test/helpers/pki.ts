import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { makeTempDir, removeTempDir } from "./tempdirs.ts";

/** Common name of the valid test client certificate (and of the expired and future ones). */
export const TEST_CLIENT_CN = "ven-test-001";
export const FOREIGN_CLIENT_CN = "ven-foreign-001";

const OPENSSL = "openssl";

const PKI_ITEMS = [
  "caCert",
  "caKey",
  "serverCert",
  "serverKey",
  "clientCert",
  "clientKey",
  "expiredClientCert",
  "futureClientCert",
  "foreignCaCert",
  "foreignClientCert",
  "foreignClientKey",
  "otherKey",
] as const;

export type PkiItem = (typeof PKI_ITEMS)[number];

/**
 * A throwaway PKI made with the openssl CLI (EC P-256 keys).
 *
 * - `files.X` is the absolute path of item X, `pem.X` its PEM text.
 * - `caCert`/`caKey`: the test CA. `serverCert`/`serverKey`: signed by it, SAN IP:127.0.0.1 and
 *   DNS:localhost. `clientCert`/`clientKey`: signed by it, CN `ven-test-001`, clientAuth.
 * - `expiredClientCert` and `futureClientCert` reuse `clientKey`, same CN, signed by the test CA;
 *   the first was valid from 3 days ago until 2 days ago, the second becomes valid in 1 day.
 * - `foreignCaCert` is an unrelated CA; `foreignClientCert`/`foreignClientKey` were signed by it.
 * - `otherKey` matches no certificate.
 * - `dir` contains all files, and `cleanup()` deletes it. Test files that share the cached PKI may skip
 *   `cleanup()`: a directory left behind is removed at process exit or by a later run.
 */
export interface TestPki {
  readonly dir: string;
  readonly files: Readonly<Record<PkiItem, string>>;
  readonly pem: Readonly<Record<PkiItem, string>>;
  cleanup(): Promise<void>;
}

// Extension sections for `openssl req` and `openssl ca`. The CA database is there because only
// `openssl ca` can set explicit validity dates in OpenSSL 3.0 (`x509 -not_before` came in 3.4).
const OPENSSL_CONFIG = `
[req]
distinguished_name = req_dn
prompt = no

[req_dn]
CN = unused

[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[server_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[client_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[ca]
default_ca = test_ca

[test_ca]
database = ca-db/index.txt
serial = ca-db/serial
new_certs_dir = ca-db
default_md = sha256
policy = cn_only
unique_subject = no
email_in_dn = no
copy_extensions = none

[cn_only]
commonName = supplied
`;

const EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
const VALID_DAYS = "30";
const DAY_MS = 24 * 60 * 60 * 1000;

async function openssl(dir: string, args: string[]): Promise<void> {
  const child = Bun.spawn([OPENSSL, ...args], {
    cwd: dir,
    env: { ...process.env, OPENSSL_CONF: join(dir, "openssl.cnf") },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const [code, out, err] = await Promise.all([
    child.exited,
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
  ]);
  if (code !== 0) {
    throw new Error(`openssl ${args.join(" ")} exited with ${code}\n${out}${err}`);
  }
}

/** Formats a time as the GeneralizedTime that `openssl ca -startdate/-enddate` accepts. */
function asn1Time(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:T]/g, "").replace(/\.\d+Z$/, "Z");
}

async function buildPki(): Promise<TestPki> {
  const dir = await makeTempDir("ven-pki-");
  await writeFile(join(dir, "openssl.cnf"), OPENSSL_CONFIG);
  await mkdir(join(dir, "ca-db"));
  await writeFile(join(dir, "ca-db", "index.txt"), "");
  await writeFile(join(dir, "ca-db", "serial"), `${randomSerialHex()}\n`);

  const files = Object.fromEntries(PKI_ITEMS.map((item) => [item, join(dir, fileName(item))])) as Record<
    PkiItem,
    string
  >;
  const run = (args: string[]) => openssl(dir, args);

  const makeCa = (cert: string, key: string, cn: string) =>
    run(["req", "-x509", ...EC_KEY, "-keyout", key, "-out", cert, "-days", VALID_DAYS, "-subj", `/CN=${cn}`, "-extensions", "ca_ext", "-sha256"]);
  const makeLeaf = (ca: string, caKey: string, cert: string, key: string, cn: string, ext: string) =>
    run(["req", "-x509", "-CA", ca, "-CAkey", caKey, ...EC_KEY, "-keyout", key, "-out", cert, "-days", VALID_DAYS, "-subj", `/CN=${cn}`, "-extensions", ext, "-sha256"]);
  const signDated = (csr: string, cert: string, fromMs: number, untilMs: number) =>
    run(["ca", "-batch", "-notext", "-cert", files.caCert, "-keyfile", files.caKey, "-in", csr, "-out", cert, "-startdate", asn1Time(fromMs), "-enddate", asn1Time(untilMs), "-extensions", "client_ext", "-extfile", "openssl.cnf"]);

  const testChain = async () => {
    await makeCa(files.caCert, files.caKey, "ven test CA");
    await Promise.all([
      makeLeaf(files.caCert, files.caKey, files.serverCert, files.serverKey, "localhost", "server_ext"),
      makeLeaf(files.caCert, files.caKey, files.clientCert, files.clientKey, TEST_CLIENT_CN, "client_ext"),
    ]);
    const csr = join(dir, "client.csr");
    await run(["req", "-new", "-key", files.clientKey, "-out", csr, "-subj", `/CN=${TEST_CLIENT_CN}`]);
    const now = Date.now();
    // Sequential: both calls update the same CA database.
    await signDated(csr, files.expiredClientCert, now - 3 * DAY_MS, now - 2 * DAY_MS);
    await signDated(csr, files.futureClientCert, now + DAY_MS, now + 2 * DAY_MS);
  };
  const foreignChain = async () => {
    await makeCa(files.foreignCaCert, join(dir, "foreign-ca.key"), "ven foreign CA");
    await makeLeaf(files.foreignCaCert, join(dir, "foreign-ca.key"), files.foreignClientCert, files.foreignClientKey, FOREIGN_CLIENT_CN, "client_ext");
  };
  const strayKey = () => run(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", files.otherKey]);

  try {
    await Promise.all([testChain(), foreignChain(), strayKey()]);
  } catch (error) {
    await removeTempDir(dir);
    throw error;
  }

  const texts = await Promise.all(PKI_ITEMS.map((item) => readFile(files[item], "utf8")));
  const pem = Object.fromEntries(PKI_ITEMS.map((item, i) => [item, texts[i] ?? ""])) as Record<PkiItem, string>;

  const pki: TestPki = {
    dir,
    files,
    pem,
    async cleanup() {
      if (cachedPki === pki) {
        cached = undefined;
        cachedPki = undefined;
      }
      await removeTempDir(dir);
    },
  };
  return pki;
}

function fileName(item: PkiItem): string {
  // caCert -> ca-cert.pem, otherKey -> other-key.pem
  return `${item.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}.pem`;
}

function randomSerialHex(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return Buffer.from(bytes).toString("hex");
}

let cached: Promise<TestPki> | undefined;
let cachedPki: TestPki | undefined;

/**
 * Returns the PKI shared by every caller in this process, generating it on first use (well under
 * a second). Call it from `beforeAll`. After `cleanup()` the next call generates a new one.
 */
export async function makeTestPki(): Promise<TestPki> {
  if (!cached) {
    const attempt = buildPki();
    cached = attempt;
    attempt.then(
      (pki) => {
        if (cached === attempt) cachedPki = pki;
      },
      () => {
        if (cached === attempt) cached = undefined;
      },
    );
  }
  return cached;
}
