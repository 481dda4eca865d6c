import type { X509Certificate } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import type { Clock } from "../clock.ts";
import { certificateId, formatName, hasPrivateKeyBlock, isIssuedBy, parseCertificates, parsePrivateKey } from "./pem.ts";

const DAY_MS = 24 * 60 * 60 * 1000;
/** A certificate with fewer days left than this gets a warning, in `ven certs check` and while running. */
export const EXPIRY_WARNING_DAYS = 30;

export type FindingLevel = "error" | "warning";

/** One problem found in the certificate files. */
export interface Finding {
  level: FindingLevel;
  /** Stable name for scripts, e.g. `expired` or `key-mismatch`. */
  code: string;
  message: string;
}

/** Findings of `ven certs check` in the configured files. */
export interface CertificateReport {
  files: { ca?: string | undefined; cert?: string | undefined; key?: string | undefined };
  subject?: string;
  issuer?: string;
  validFrom?: string;
  validTo?: string;
  /** Whole days until the certificate expires, negative once it has. */
  daysLeft?: number;
  /** SHA-256 of the certificate in hex, which AWS IoT Core also uses as the certificate id. */
  fingerprint?: string;
  keyMatches?: boolean;
  /** `ok`: a certificate in the CA file signed it. `broken`: none did. `no-ca`: no CA file is configured. */
  chain?: "ok" | "broken" | "no-ca";
  /** Permission bits of the key file, e.g. `0600`. */
  keyMode?: string;
  findings: Finding[];
}

export interface CheckOptions {
  warningDays?: number;
}

type Loaded<T> = { value: T } | { finding: Finding };

function readText(label: string, path: string): Loaded<string> {
  try {
    return { value: readFileSync(path, "latin1") };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === "ENOENT" ? "not found" : code === "EACCES" ? "not readable (permission denied)" : (error as Error).message;
    return {
      finding: {
        level: "error",
        code: "unreadable",
        message: `${label} ${path}: ${reason}. Fix: set --ca, --cert and --key (or VEN_CA, VEN_CERT, VEN_KEY) to the files, or put them in certs/ of the working directory; ven certs fetch can write them there.`,
      },
    };
  }
}

function loadCertificates(label: string, path: string): Loaded<X509Certificate[]> {
  const text = readText(label, path);
  if ("finding" in text) return text;
  try {
    const certificates = parseCertificates(text.value);
    if (certificates.length > 0) return { value: certificates };
  } catch (error) {
    return { finding: { level: "error", code: "wrong-format", message: `${label} ${path} could not be parsed: ${(error as Error).message}.` } };
  }
  const what = hasPrivateKeyBlock(text.value) ? "a private key, not a certificate" : "not a PEM certificate (-----BEGIN CERTIFICATE-----)";
  return { finding: { level: "error", code: "wrong-format", message: `${label} ${path} is ${what}.` } };
}

/**
 * Checks the configured CA, certificate and key files: readable, PEM, the key belongs to the
 * certificate, the certificate chains to the CA, and the clock is inside its validity period.
 * Problems come back as findings, never as exceptions, so every check runs.
 */
export function checkCertificates(files: CertificateReport["files"], clock: Clock, options: CheckOptions = {}): CertificateReport {
  const report: CertificateReport = { files: { ...files }, findings: [] };
  const add = (finding: Finding) => report.findings.push(finding);
  const warningDays = options.warningDays ?? EXPIRY_WARNING_DAYS;

  if (!files.cert) {
    add({ level: "error", code: "no-certificate", message: "No client certificate is configured. Set --cert and --key, or run ven certs fetch." });
    return report;
  }

  const loaded = loadCertificates("Client certificate", files.cert);
  if ("finding" in loaded) {
    add(loaded.finding);
  } else {
    const certificate = loaded.value[0]!;
    describeCertificate(report, certificate, clock, warningDays, add);
    if (files.key) checkKey(report, certificate, files.key, add);
    if (files.ca) checkChain(report, certificate, loaded.value.slice(1), files.ca, add);
    else report.chain = "no-ca";
  }
  if (!files.key) add({ level: "error", code: "no-key", message: "No private key is configured. Set --key." });
  return report;
}

function describeCertificate(report: CertificateReport, certificate: X509Certificate, clock: Clock, warningDays: number, add: (finding: Finding) => void): void {
  const validFrom = new Date(certificate.validFrom);
  const validTo = new Date(certificate.validTo);
  const now = clock.now();
  report.subject = formatName(certificate.subject);
  report.issuer = formatName(certificate.issuer);
  report.validFrom = validFrom.toISOString();
  report.validTo = validTo.toISOString();
  report.daysLeft = Math.floor((validTo.getTime() - now) / DAY_MS);
  report.fingerprint = certificateId(certificate);

  if (now < validFrom.getTime()) {
    add({ level: "error", code: "not-yet-valid", message: `The certificate is not valid yet: valid from ${report.validFrom}, and the clock reads ${new Date(now).toISOString()}. Check the system clock.` });
  } else if (now > validTo.getTime()) {
    add({ level: "error", code: "expired", message: `The certificate expired on ${report.validTo}. Issue a new certificate for this thing and run ven certs fetch.` });
  } else if (report.daysLeft < warningDays) {
    add({ level: "warning", code: "expires-soon", message: `The certificate expires on ${report.validTo}, in ${report.daysLeft} days. Rotate it before then.` });
  }
}

function checkKey(report: CertificateReport, certificate: X509Certificate, keyPath: string, add: (finding: Finding) => void): void {
  const text = readText("Private key", keyPath);
  if ("finding" in text) {
    add(text.finding);
    return;
  }
  try {
    const mode = statSync(keyPath).mode & 0o777;
    report.keyMode = `0${mode.toString(8)}`;
    if ((mode & 0o077) !== 0) {
      add({ level: "warning", code: "key-readable-by-others", message: `Private key ${keyPath} has mode ${report.keyMode}: other users can read it. Fix: chmod 600 ${keyPath}.` });
    }
  } catch {
    // The key was just read, so only a race with a rename gets here; the mode is then left out.
  }
  if (!hasPrivateKeyBlock(text.value)) {
    add({ level: "error", code: "wrong-format", message: `Private key ${keyPath} is not a PEM private key (-----BEGIN PRIVATE KEY-----).` });
    return;
  }
  try {
    report.keyMatches = certificate.checkPrivateKey(parsePrivateKey(text.value));
  } catch (error) {
    add({ level: "error", code: "wrong-format", message: `Private key ${keyPath} could not be read: ${(error as Error).message}. It must be an unencrypted PEM key.` });
    return;
  }
  if (!report.keyMatches) {
    add({ level: "error", code: "key-mismatch", message: `Private key ${keyPath} does not belong to the certificate. Use the key that was created with it.` });
  }
}

function checkChain(
  report: CertificateReport,
  certificate: X509Certificate,
  intermediates: X509Certificate[],
  caPath: string,
  add: (finding: Finding) => void,
): void {
  const loaded = loadCertificates("CA file", caPath);
  if ("finding" in loaded) {
    add(loaded.finding);
    return;
  }
  // Walks up from the certificate through intermediates in the certificate file until a CA from the CA file signed one.
  const authorities = loaded.value;
  let current = certificate;
  for (let depth = 0; depth <= intermediates.length; depth++) {
    if (authorities.some((authority) => isIssuedBy(current, authority))) {
      report.chain = "ok";
      return;
    }
    const next = intermediates.find((candidate) => isIssuedBy(current, candidate));
    if (!next) break;
    current = next;
  }
  report.chain = "broken";
  const names = authorities.map((authority) => formatName(authority.subject)).join("; ");
  add({
    level: "error",
    code: "chain-broken",
    message: `The certificate (issuer ${report.issuer}) was not signed by the CA in ${caPath} (${names}). Use the CA that issued it, or the matching certificate.`,
  });
}

/** Returns the exit status of a check: errors fail it, and with `strict` warnings do too. */
export function reportFailed(report: CertificateReport, strict: boolean): boolean {
  return report.findings.some((finding) => finding.level === "error" || strict);
}
