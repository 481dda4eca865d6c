import type { CertificateReport } from "./check.ts";

/** Formats a check report for a terminal: the certificate's facts, then every finding. */
export function formatReport(report: CertificateReport): string {
  const lines: string[] = [];
  const row = (label: string, value: string) => lines.push(`  ${label.padEnd(12)} ${value}`);
  lines.push(`Certificate ${report.files.cert ?? "(none configured)"}`);
  if (report.subject !== undefined) {
    row("subject", report.subject);
    row("issuer", report.issuer ?? "?");
    row("valid from", report.validFrom ?? "?");
    let left = "";
  if (report.daysLeft !== undefined && report.daysLeft < 0) left = ` (expired ${-report.daysLeft} days ago)`;
  else if (report.daysLeft !== undefined) left = ` (${report.daysLeft} days left)`;
    row("valid until", `${report.validTo ?? "?"}${left}`);
    row("SHA-256", `${report.fingerprint ?? "?"} (also the AWS IoT certificate id)`);
  }
  if (report.files.key) {
    const match = report.keyMatches === undefined ? "not checked" : report.keyMatches ? "matches the certificate" : "does NOT match the certificate";
    row("key", `${report.files.key}: ${match}${report.keyMode ? `, mode ${report.keyMode}` : ""}`);
  }
  const chain =
    report.chain === "ok"
      ? `signed by the CA in ${report.files.ca}`
      : report.chain === "broken"
        ? `NOT signed by the CA in ${report.files.ca}`
        : report.chain === "no-ca"
          ? "not checked: no CA file configured (the broker is then checked against the system's root certificates)"
          : "not checked";
  row("chain", chain);

  const errors = report.findings.filter((finding) => finding.level === "error").length;
  const warnings = report.findings.length - errors;
  lines.push(errors === 0 && warnings === 0 ? "OK: no problems found" : `${errors} error(s), ${warnings} warning(s):`);
  for (const finding of report.findings) lines.push(`  ${finding.level === "error" ? "ERROR" : "WARN "} ${finding.message}`);
  return `${lines.join("\n")}\n`;
}
