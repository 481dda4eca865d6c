import { X509Certificate, createPrivateKey, type KeyObject } from "node:crypto";

const CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const PRIVATE_KEY_MARKER = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;

/** Returns every certificate in a PEM text, in order; a CA file may hold a bundle. */
export function parseCertificates(text: string): X509Certificate[] {
  return (text.match(CERTIFICATE_BLOCK) ?? []).map((block) => new X509Certificate(block));
}

/** True when the text contains a PEM private key block. */
export function hasPrivateKeyBlock(text: string): boolean {
  return PRIVATE_KEY_MARKER.test(text);
}

/** Parses an unencrypted PEM private key. Throws the runtime's error for anything else. */
export function parsePrivateKey(text: string): KeyObject {
  return createPrivateKey(text);
}

/**
 * Returns the SHA-256 fingerprint of the certificate's DER form in lowercase hex without colons.
 * AWS IoT Core uses this value as the certificate id.
 */
export function certificateId(certificate: X509Certificate): string {
  return certificate.fingerprint256.replace(/:/g, "").toLowerCase();
}

/** True when `issuer` issued `certificate` and its signature checks out with the issuer's key. */
export function isIssuedBy(certificate: X509Certificate, issuer: X509Certificate): boolean {
  return certificate.checkIssued(issuer) && certificate.verify(issuer.publicKey);
}

/** Formats a distinguished name from X509Certificate (one `K=V` per line) as `K=V, K=V`. */
export function formatName(name: string): string {
  return name.split("\n").filter((part) => part.length > 0).join(", ");
}
