import { unixSeconds, type Clock } from "../clock.ts";
import { startEmbeddedBroker, type EmbeddedBroker } from "../broker/embedded.ts";
import type { VenConfig } from "../config/resolve.ts";
import { loadTlsMaterial } from "../config/tls-files.ts";
import type { Logger } from "../logger.ts";
import { VenAgent } from "./agent.ts";
import { instanceId } from "./instance.ts";
import { CertificateWatcher } from "../certs/watch.ts";
import { InstanceLock } from "./lock.ts";
import { ensureStateDir } from "./state-dir.ts";

export interface ServiceOptions {
  config: VenConfig;
  clock: Clock;
  log: Logger;
  hostname: string;
  pid: number;
  stopSignal: AbortSignal;
}

/**
 * `ven run` from start to stop: checks the certificate files and the state directory before any
 * socket opens, starts the embedded broker when no broker is configured, runs the agent until the
 * stop signal, then stops it cleanly.
 */
export async function runService(options: ServiceOptions): Promise<void> {
  const { config, clock } = options;
  const tls = config.broker.protocol === "mqtts" ? loadTlsMaterial(config.tls, clock) : {};
  ensureStateDir(config.stateDir);
  const lock = InstanceLock.acquire(config.stateDir, config.venId, options.hostname, new Date(clock.now()));
  try {
    await runLocked(options, tls);
  } finally {
    lock.release();
  }
}

async function runLocked(options: ServiceOptions, tls: Awaited<ReturnType<typeof loadTlsMaterial>>): Promise<void> {
  const { config, clock, log } = options;

  let embedded: EmbeddedBroker | undefined;
  if (config.broker.embedded) {
    embedded = await startEmbeddedBroker(config.broker.host, config.broker.port, log.withTag("broker"));
    log.withTag("broker").info(
      `No broker configured: embedded MQTT broker listening on ${embedded.host}:${embedded.port} (MQTT 3.1.1). Watch it with: ven listen`,
    );
  }

  const agent = new VenAgent({
    config,
    tls,
    clock,
    log,
    instance: instanceId(options.hostname, options.pid, unixSeconds(clock)),
  });
  agent.start();
  const watcher = startCertificateWatcher(config, agent, clock, log);

  await new Promise<void>((resolve) => {
    if (options.stopSignal.aborted) resolve();
    else options.stopSignal.addEventListener("abort", () => resolve(), { once: true });
  });
  const reason = options.stopSignal.reason;
  log.info(`Stopping${typeof reason === "string" ? ` on ${reason}` : ""}`);
  watcher?.stop();
  await agent.stop();
  await embedded?.close();
}

/**
 * Watches the client certificate files of a TLS connection: a daily warning while the certificate
 * expires within 30 days, and a reconnect with the new files after a rotation on disk.
 */
function startCertificateWatcher(config: VenConfig, agent: VenAgent, clock: Clock, log: Logger): CertificateWatcher | undefined {
  if (config.broker.protocol !== "mqtts" || config.auth !== "mtls" || !config.tls.cert) return undefined;
  const watcher = new CertificateWatcher({
    files: config.tls,
    clock,
    log: log.withTag("certs"),
    onRotate: (tls) => {
      agent.supervisor.setTlsMaterial(tls);
      agent.supervisor.reconnectNow("certificate files changed");
    },
  });
  watcher.start();
  return watcher;
}
