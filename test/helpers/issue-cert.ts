import { join } from "node:path";
import type { TestPki } from "./pki.ts";

/**
 * Issues a client certificate with a fresh EC P-256 key from the test CA, valid from now for
 * `days` days, with the openssl CLI. Returns the paths of the two files in `dir`.
 */
export async function issueClientCertificate(pki: TestPki, dir: string, name: string, days: number, commonName = "ven-test-001"): Promise<{ cert: string; key: string }> {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  const args = [
    "openssl", "req", "-x509", "-CA", pki.files.caCert, "-CAkey", pki.files.caKey,
    "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
    "-keyout", key, "-out", cert, "-days", String(days), "-subj", `/CN=${commonName}`, "-sha256",
  ];
  const child = Bun.spawn(args, { cwd: dir, stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, OPENSSL_CONF: join(pki.dir, "openssl.cnf") } });
  const [code, stderr] = await Promise.all([child.exited, new Response(child.stderr).text()]);
  if (code !== 0) throw new Error(`openssl exited with ${code}: ${stderr}`);
  return { cert, key };
}
