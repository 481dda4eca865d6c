import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Clock, TimerHandle } from "../clock.ts";
import { loadTlsMaterial, type TlsMaterial } from "../config/tls-files.ts";
import type { VenConfig } from "../config/resolve.ts";
import { describeError } from "../errors.ts";
import type { Logger } from "../logger.ts";
import { checkCertificates, EXPIRY_WARNING_DAYS } from "./check.ts";

const DAY_MS = 24 * 60 * 60 * 1000;
/** How often the files are read to notice a rotation, in milliseconds. */
export const DEFAULT_POLL_MS = 10_000;

export interface CertificateWatcherOptions {
  files: VenConfig["tls"];
  clock: Clock;
  log: Logger;
  /** Called with the new, checked material after the files changed on disk. */
  onRotate: (tls: TlsMaterial) => void;
  pollMs?: number;
}

/**
 * Watches the certificate files of a running VEN. It warns once a day while the certificate
 * expires within 30 days, and when the files change on disk it checks the new ones and hands them
 * over, so the VEN reconnects without a restart. Files that fail the check are logged and left
 * unused until they change again. The files are polled on the clock instead of watched with
 * inotify, because tools replace them by rename, which some file watchers miss.
 */
export class CertificateWatcher {
  private timer: TimerHandle | undefined;
  private appliedDigest: string | undefined;
  private rejectedDigest: string | undefined;
  private lastWarningAt: number | undefined;

  constructor(private readonly options: CertificateWatcherOptions) {}

  start(): void {
    this.appliedDigest = this.digest();
    this.warnIfExpiring();
    this.schedule();
  }

  stop(): void {
    if (this.timer) this.options.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Reads the files once: applies a change and repeats the daily expiry warning when due. */
  poll(): void {
    const digest = this.digest();
    if (digest !== undefined && digest !== this.appliedDigest && digest !== this.rejectedDigest) this.apply(digest);
    this.warnIfExpiring();
  }

  private schedule(): void {
    this.timer = this.options.clock.setTimeout(() => {
      this.poll();
      this.schedule();
    }, this.options.pollMs ?? DEFAULT_POLL_MS);
  }

  private apply(digest: string): void {
    const { files, clock, log } = this.options;
    let material: TlsMaterial;
    try {
      material = loadTlsMaterial(files, clock);
    } catch (error) {
      // A rotation that wrote the certificate but not yet the key lands here; the next change is tried again.
      this.rejectedDigest = digest;
      log.error(`Certificate files changed but were not used: ${describeError(error)}. The VEN keeps its current certificate.`);
      return;
    }
    this.appliedDigest = digest;
    this.rejectedDigest = undefined;
    this.lastWarningAt = undefined;
    const report = checkCertificates(files, clock);
    log.info(`Certificate files changed: reconnecting with ${report.subject ?? "the new certificate"}, valid until ${report.validTo ?? "?"} (id ${report.fingerprint ?? "?"})`);
    this.options.onRotate(material);
  }

  private warnIfExpiring(): void {
    const { files, clock, log } = this.options;
    const now = clock.now();
    if (this.lastWarningAt !== undefined && now - this.lastWarningAt < DAY_MS) return;
    const report = checkCertificates({ cert: files.cert, key: files.key }, clock);
    if (report.daysLeft === undefined || report.daysLeft >= EXPIRY_WARNING_DAYS) return;
    this.lastWarningAt = now;
    const when = report.daysLeft < 0 ? `expired on ${report.validTo}` : `expires on ${report.validTo}, in ${report.daysLeft} days`;
    log.warn(`Certificate ${files.cert} ${when}. Rotate it: ven certs fetch writes new files, and the running VEN picks them up.`);
  }

  /** Returns a digest of the three files' contents, or undefined while one cannot be read. */
  private digest(): string | undefined {
    const hash = createHash("sha256");
    for (const path of [this.options.files.ca, this.options.files.cert, this.options.files.key]) {
      if (!path) continue;
      try {
        hash.update(path).update("\0").update(readFileSync(path)).update("\0");
      } catch {
        return undefined;
      }
    }
    return hash.digest("hex");
  }
}
