import { randomBytes } from "node:crypto";
import { chmodSync, closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";

/** Where the three PEM files of a VEN live. */
export interface CertificatePaths {
  ca: string;
  cert: string;
  key: string;
}

/** The PEM texts of the CA, the client certificate and its private key. Key material: never logged. */
export interface CertificateTexts {
  ca: string;
  cert: string;
  key: string;
}

/** Owner read and write only: the private key must not be readable by other users. */
export const PRIVATE_KEY_MODE = 0o600;
const CERTIFICATE_MODE = 0o644;

/**
 * Writes one file so that a reader sees either the old or the new content, never a part: the
 * text goes to a temporary file in the same folder, is flushed to disk, and is renamed over the
 * target. The mode is set before any content is written.
 */
export function writeFileAtomic(path: string, text: string, mode: number): void {
  const folder = dirname(path);
  mkdirSync(folder, { recursive: true });
  const temporary = join(folder, `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  const fd = openSync(temporary, "wx", mode);
  try {
    // openSync applies the umask, which may only remove bits; chmod makes the mode exact.
    chmodSync(temporary, mode);
    writeSync(fd, text);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(temporary, { force: true });
    throw error;
  }
  closeSync(fd);
  try {
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
}

/**
 * Writes the CA, certificate and key files, each atomically, the key with mode 0600. The key is
 * written last, so a VEN that watches the files sees a complete pair once the key changes.
 */
export function writeCertificateFiles(paths: CertificatePaths, texts: CertificateTexts): void {
  writeFileAtomic(paths.ca, texts.ca, CERTIFICATE_MODE);
  writeFileAtomic(paths.cert, texts.cert, CERTIFICATE_MODE);
  writeFileAtomic(paths.key, texts.key, PRIVATE_KEY_MODE);
}
