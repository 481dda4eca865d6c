import { defineCommand } from "citty";
import { existsSync } from "node:fs";
import { resolve as resolvePath } from "node:path";
import { checkCertificates, reportFailed } from "../../certs/check.ts";
import { fetchCertificates, type CertificateSource } from "../../certs/fetch.ts";
import type { CertificatePaths } from "../../certs/files.ts";
import { formatReport } from "../../certs/format.ts";
import { DEFAULT_CERT_FILES, resolveConfig, type VenConfig } from "../../config/resolve.ts";
import { ExitCode } from "../../errors.ts";
import { createLogger } from "../../logger.ts";
import { settingArgs, settingFlags } from "../args.ts";
import { loadConfiguration, outputFormat, type CommandData } from "../context.ts";

/** The configured certificate files, or the default `certs/` files in the working directory. */
export function certificatePaths(config: VenConfig, cwd: string): CertificatePaths {
  return {
    ca: config.tls.ca ?? resolvePath(cwd, DEFAULT_CERT_FILES.ca),
    cert: config.tls.cert ?? resolvePath(cwd, DEFAULT_CERT_FILES.cert),
    key: config.tls.key ?? resolvePath(cwd, DEFAULT_CERT_FILES.key),
  };
}

export const certsFetchCommand = defineCommand({
  meta: {
    name: "fetch",
    description:
      "Write the CA, certificate and key files from an AWS Secrets Manager secret (--secret) or from CA_CERT_PEM, CLIENT_CERT_PEM and PRIVATE_KEY_PEM; needs AWS credentials for a secret",
  },
  args: {
    ...settingArgs(),
    secret: { type: "string", description: "Secrets Manager secret with ca_cert, client_cert and private_key, e.g. dev-volttron-tls", valueHint: "NAME" },
  },
  async run({ data }) {
    const { io, flags } = data as CommandData;
    const { resolved, log } = loadConfiguration(data as CommandData, { certificatesPending: true });
    const { config } = resolved;
    const source: CertificateSource = typeof flags.secret === "string" ? { kind: "secret", secretId: flags.secret, region: config.region } : { kind: "env" };
    const result = await fetchCertificates(source, certificatePaths(config, io.cwd), io.env);
    log.withTag("certs").info(`Wrote ${result.paths.ca}, ${result.paths.cert} and ${result.paths.key} (mode 0600) from ${result.source}`);
    const summary = { ...result, paths: { ...result.paths } };
    if (outputFormat(resolved, io) === "jsonl") io.stdout.write(`${JSON.stringify(summary)}\n`);
    else io.stdout.write(`Certificate ${result.subject}, valid until ${result.validTo}, AWS IoT certificate id ${result.certificateId}\n`);
    return ExitCode.ok;
  },
});

export const certsCheckCommand = defineCommand({
  meta: {
    name: "check",
    description: "Check the configured certificate files: dates, key, chain to the CA, fingerprint; exit 1 on an error",
  },
  args: {
    ...settingArgs(),
    strict: { type: "boolean", description: "Exit 1 on warnings too (under 30 days left, key readable by others)" },
  },
  run({ data }) {
    const { io, flags } = data as CommandData;
    const { resolved } = loadConfiguration(data as CommandData, { certificatesPending: true });
    const paths = certificatePaths(resolved.config, io.cwd);
    // The CA file is optional: a missing default file means "not configured", not an error.
    const caConfigured = resolved.origins.ca.kind !== "default" || existsSync(paths.ca);
    const report = checkCertificates({ ...paths, ca: caConfigured ? paths.ca : undefined }, io.clock);
    if (outputFormat(resolved, io) === "jsonl") io.stdout.write(`${JSON.stringify(report)}\n`);
    else io.stdout.write(formatReport(report));
    return reportFailed(report, flags.strict === true) ? ExitCode.failed : ExitCode.ok;
  },
});

export const certsCommand = defineCommand({
  meta: { name: "certs", description: "Fetch and check the VEN's certificate files (ven certs fetch, ven certs check)" },
  subCommands: { fetch: certsFetchCommand, check: certsCheckCommand },
});

/**
 * For `ven run --fetch-certs SECRET`: when any of the certificate files is missing, fetches all
 * three from the secret before the configuration is checked. Existing files are left alone, so a
 * restart does not call AWS.
 */
export async function fetchMissingCertificates(data: CommandData, secretId: string): Promise<void> {
  const { io, flags } = data;
  const { config } = resolveConfig({
    flags: settingFlags(flags),
    configFile: typeof flags.config === "string" ? flags.config : undefined,
    env: io.env,
    cwd: io.cwd,
    hostname: io.hostname,
    homeDir: io.homeDir,
    certificatesPending: true,
  });
  const paths = certificatePaths(config, io.cwd);
  const missing = Object.values(paths).filter((path) => !existsSync(path));
  if (missing.length === 0) return;
  const log = createLogger({ level: config.logLevel, format: config.logFormat, sink: io.stderr }).withTag("certs");
  log.info(`Fetching certificates from secret ${secretId}: ${missing.join(", ")} missing`);
  const result = await fetchCertificates({ kind: "secret", secretId, region: config.region }, paths, io.env);
  log.info(`Wrote ${result.paths.ca}, ${result.paths.cert} and ${result.paths.key}; certificate ${result.subject}, valid until ${result.validTo}`);
}
