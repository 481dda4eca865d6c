import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Clock } from "../clock.ts";
import type { VenConfig } from "../config/resolve.ts";
import { loadTlsMaterial, type TlsMaterial } from "../config/tls-files.ts";
import { ConfigError } from "../errors.ts";

/** File names inside each venId's folder of `--certs-dir`. */
export const CERT_FOLDER_FILES = { cert: "client.crt", key: "client.key", ca: "ca.pem" } as const;

/**
 * Reads and checks the TLS files of every simulated VEN before any of them connects, the same
 * checks `ven run` makes. With `certsDir`, VEN `<id>` uses `<certsDir>/<id>/client.crt` and
 * `client.key`, and `ca.pem` there when it exists, else the configured CA. Without it, every VEN
 * uses the configured files. Brokers without TLS need none. Throws a ConfigError naming the
 * first folder or file that is missing or invalid.
 */
export function loadFleetTls(config: VenConfig, venIds: readonly string[], certsDir: string | undefined, clock: Clock): (venId: string) => TlsMaterial {
  if (config.broker.protocol !== "mqtts") return () => ({});
  if (certsDir === undefined) {
    const shared = loadTlsMaterial(config.tls, clock);
    return () => shared;
  }

  if (!existsSync(certsDir) || !statSync(certsDir).isDirectory()) {
    throw new ConfigError(`--certs-dir ${certsDir}: folder not found. Fix: pass a folder with one subfolder per simulated venId, each containing client.crt and client.key.`);
  }
  const sharedCa = config.tls.ca !== undefined && existsSync(config.tls.ca) ? loadTlsMaterial({ ca: config.tls.ca, insecure: config.tls.insecure }, clock).ca : undefined;
  const materials = new Map<string, TlsMaterial>();
  for (const venId of venIds) {
    const folder = join(certsDir, venId);
    if (!existsSync(folder)) {
      throw new ConfigError(
        `Certificate folder ${folder} for simulated VEN ${venId} not found. Fix: create ${join(certsDir, "<venId>")}/client.crt and client.key for every simulated id (${venIds[0]} to ${venIds.at(-1)}), or leave out --certs-dir so every VEN uses --cert and --key.`,
      );
    }
    const ca = join(folder, CERT_FOLDER_FILES.ca);
    const files = { cert: join(folder, CERT_FOLDER_FILES.cert), key: join(folder, CERT_FOLDER_FILES.key), ca: existsSync(ca) ? ca : undefined, insecure: config.tls.insecure };
    let material: TlsMaterial;
    try {
      material = loadTlsMaterial(files, clock);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      throw new ConfigError(`Simulated VEN ${venId}: ${error.message}`);
    }
    materials.set(venId, { ...material, ca: material.ca ?? sharedCa });
  }
  return (venId) => materials.get(venId) ?? {};
}
