import * as v from "valibot";
import { ConfigError, ExitCode, VenError } from "../errors.ts";
import { writeCertificateFiles, type CertificatePaths, type CertificateTexts } from "./files.ts";
import { certificateId, formatName, hasPrivateKeyBlock, parseCertificates, parsePrivateKey } from "./pem.ts";

/** Environment variables that container deployments use to pass the PEM texts. */
export const PEM_VARIABLES = { ca: "CA_CERT_PEM", cert: "CLIENT_CERT_PEM", key: "PRIVATE_KEY_PEM" } as const;

/** The JSON layout of the deployment's secrets, such as `dev-volttron-tls`. */
const SecretSchema = v.looseObject({
  ca_cert: v.pipe(v.string(), v.minLength(1)),
  client_cert: v.pipe(v.string(), v.minLength(1)),
  private_key: v.pipe(v.string(), v.minLength(1)),
});

export type CertificateSource = { kind: "secret"; secretId: string; region?: string | undefined } | { kind: "env" };

/** Files that `fetchCertificates` wrote, without key material. */
export interface FetchResult {
  source: string;
  paths: CertificatePaths;
  subject: string;
  validTo: string;
  certificateId: string;
}

/** Parses the secret's JSON into the three PEM texts, naming a missing or empty field. */
export function parseSecret(text: string, secretId: string): CertificateTexts {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // The secret's text is never echoed, because it contains the private key.
    throw new VenError(ExitCode.failed, `Secret ${secretId} is not JSON`, { hint: 'Store the secret as JSON with the keys "ca_cert", "client_cert" and "private_key".' });
  }
  const result = v.safeParse(SecretSchema, parsed);
  if (!result.success) {
    const fields = [...new Set(result.issues.map((issue) => issue.path?.map((item) => String(item.key)).join(".") || "(top level)"))];
    throw new VenError(ExitCode.failed, `Secret ${secretId} lacks a PEM text in ${fields.join(", ")}`, {
      hint: 'The secret must be a JSON object with non-empty strings "ca_cert", "client_cert" and "private_key".',
    });
  }
  return { ca: result.output.ca_cert, cert: result.output.client_cert, key: result.output.private_key };
}

/**
 * Reads the PEM texts from CA_CERT_PEM, CLIENT_CERT_PEM and PRIVATE_KEY_PEM. Returns undefined
 * when none is set. Some container tools pass newlines as the two characters `\n`; a text
 * without a real newline has those turned back into newlines.
 */
export function textsFromEnvironment(env: Record<string, string | undefined>): CertificateTexts | undefined {
  const values = Object.fromEntries(Object.entries(PEM_VARIABLES).map(([field, name]) => [field, env[name]?.trim() ? env[name] : undefined]));
  const present = Object.values(values).filter((value) => value !== undefined).length;
  if (present === 0) return undefined;
  const missing = Object.entries(PEM_VARIABLES).filter(([field]) => values[field] === undefined).map(([, name]) => name);
  if (missing.length > 0) throw new ConfigError(`${missing.join(" and ")} ${missing.length === 1 ? "is" : "are"} not set, but the other PEM variables are. Fix: set all three, or use --secret.`);
  const restore = (text: string) => (text.includes("\n") ? text : text.replace(/\\n/g, "\n"));
  return { ca: restore(values.ca!), cert: restore(values.cert!), key: restore(values.key!) };
}

/**
 * Checks the PEM texts before anything is written: the CA and certificate parse, the key is an
 * unencrypted PEM key and belongs to the certificate. Messages name the source, never the text.
 */
export function validateTexts(texts: CertificateTexts, source: string): { subject: string; validTo: string; certificateId: string } {
  const fail = (message: string) => new VenError(ExitCode.failed, `${source}: ${message}; nothing was written`);
  const parse = (label: string, text: string) => {
    try {
      const certificates = parseCertificates(text);
      if (certificates.length > 0) return certificates[0]!;
    } catch (error) {
      throw fail(`the ${label} could not be parsed (${(error as Error).message})`);
    }
    throw fail(`the ${label} is not a PEM certificate`);
  };
  parse("CA certificate", texts.ca);
  const certificate = parse("client certificate", texts.cert);
  if (!hasPrivateKeyBlock(texts.key)) throw fail("the private key is not a PEM private key");
  let matches: boolean;
  try {
    matches = certificate.checkPrivateKey(parsePrivateKey(texts.key));
  } catch (error) {
    throw fail(`the private key could not be read (${(error as Error).message}); it must be unencrypted`);
  }
  if (!matches) throw fail("the private key does not belong to the client certificate");
  return { subject: formatName(certificate.subject), validTo: new Date(certificate.validTo).toISOString(), certificateId: certificateId(certificate) };
}

/**
 * Gets the PEM texts from a Secrets Manager secret or from the environment, checks them and writes
 * the three files atomically (the key with mode 0600). The AWS SDK is loaded only for a secret.
 */
export async function fetchCertificates(source: CertificateSource, paths: CertificatePaths, env: Record<string, string | undefined>): Promise<FetchResult> {
  let texts: CertificateTexts;
  let label: string;
  if (source.kind === "secret") {
    const { readSecretString } = await import("../aws/secrets.ts");
    label = `secret ${source.secretId}`;
    texts = parseSecret(await readSecretString(source.secretId, source.region), source.secretId);
  } else {
    label = `variables ${Object.values(PEM_VARIABLES).join(", ")}`;
    const fromEnv = textsFromEnvironment(env);
    if (!fromEnv) {
      throw new ConfigError(`No certificate source: neither --secret nor ${Object.values(PEM_VARIABLES).join(", ")} is set`, {
        hint: "Pass --secret NAME (an AWS Secrets Manager secret), or set the three PEM variables.",
      });
    }
    texts = fromEnv;
  }
  const facts = validateTexts(texts, label);
  writeCertificateFiles(paths, texts);
  return { source: label, paths, ...facts };
}
