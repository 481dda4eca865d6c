import { X509Certificate, createPrivateKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { BUILD_TIME_MS } from "../build-info.ts";
import type { Clock } from "../clock.ts";
import { ConfigError } from "../errors.ts";
import type { VenConfig } from "./resolve.ts";

/** The PEM texts handed to TLS. Key material: never logged or printed. */
export interface TlsMaterial {
  ca?: Buffer | undefined;
  cert?: Buffer | undefined;
  key?: Buffer | undefined;
}

const SETTING_NAMES = {
  ca: "--ca or VEN_CA",
  cert: "--cert or VEN_CERT",
  key: "--key or VEN_KEY",
} as const;

function readPem(kind: keyof typeof SETTING_NAMES, path: string): Buffer {
  let content: Buffer;
  try {
    content = readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === "ENOENT" ? "not found" : code === "EACCES" ? "not readable (permission denied)" : (error as Error).message;
    throw new ConfigError(`${label(kind)} ${path}: ${reason}. Fix: set ${SETTING_NAMES[kind]} to an existing PEM file.`);
  }
  const marker = kind === "key" ? /-----BEGIN [A-Z ]*PRIVATE KEY-----/ : /-----BEGIN CERTIFICATE-----/;
  if (!marker.test(content.toString("latin1"))) {
    const expected = kind === "key" ? "a PEM private key (-----BEGIN PRIVATE KEY-----)" : "a PEM certificate (-----BEGIN CERTIFICATE-----)";
    throw new ConfigError(`${label(kind)} ${path} is not ${expected}. Fix: set ${SETTING_NAMES[kind]} to the right file; DER files can be converted with openssl.`);
  }
  return content;
}

function label(kind: keyof typeof SETTING_NAMES): string {
  if (kind === "ca") return "CA file";
  if (kind === "cert") return "Client certificate";
  return "Private key";
}

/**
 * Reads the configured TLS files and checks them before any socket opens: each is PEM, the key
 * belongs to the certificate, and the certificate is inside its validity period by `clock`.
 * Throws a ConfigError naming the files and dates.
 */
export function loadTlsMaterial(tls: VenConfig["tls"], clock: Clock): TlsMaterial {
  const material: TlsMaterial = {};
  if (tls.ca) {
    material.ca = readPem("ca", tls.ca);
    try {
      new X509Certificate(material.ca);
    } catch (error) {
      throw new ConfigError(`CA file ${tls.ca} could not be parsed: ${(error as Error).message}. Fix: set ${SETTING_NAMES.ca} to a PEM certificate.`);
    }
  }
  if (!tls.cert || !tls.key) return material;

  material.cert = readPem("cert", tls.cert);
  material.key = readPem("key", tls.key);
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(material.cert);
  } catch (error) {
    throw new ConfigError(`Client certificate ${tls.cert} could not be parsed: ${(error as Error).message}. Fix: set ${SETTING_NAMES.cert} to a PEM certificate.`);
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(material.key);
  } catch (error) {
    throw new ConfigError(
      `Private key ${tls.key} could not be read: ${(error as Error).message}. Fix: set ${SETTING_NAMES.key} to an unencrypted PEM key.`,
    );
  }
  if (!certificate.checkPrivateKey(privateKey)) {
    throw new ConfigError(
      `Private key ${tls.key} does not belong to the certificate ${tls.cert}. Fix: use the key that was created with this certificate.`,
    );
  }

  const now = clock.now();
  const validFrom = new Date(certificate.validFrom);
  const validTo = new Date(certificate.validTo);
  // A clock before the build time is known to be wrong (a device without a real-time clock
  // starting in 1970), so "not yet valid" by that clock tells nothing about the certificate.
  const clockPlausible = now >= BUILD_TIME_MS;
  if (clockPlausible && now < validFrom.getTime()) {
    throw new ConfigError(
      `Client certificate ${tls.cert} is not valid yet: valid from ${validFrom.toISOString()}, and the clock reads ${new Date(now).toISOString()}. Fix: check the system clock, or use a current certificate.`,
    );
  }
  if (now > validTo.getTime()) {
    throw new ConfigError(
      `Client certificate ${tls.cert} expired on ${validTo.toISOString()} (valid from ${validFrom.toISOString()}). Fix: issue a new certificate and key for this thing.`,
    );
  }
  return material;
}
