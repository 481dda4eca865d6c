import { loadTlsMaterial } from "../../config/tls-files.ts";
import { failed, passed, type DoctorContext, type StepResult } from "../types.ts";

/** Checks the certificate files the way `ven run` does before any socket opens. */
export async function checkConfiguration(context: DoctorContext): Promise<StepResult> {
  const { config } = context;
  if (config.broker.embedded) {
    // Like ven listen: with no broker configured, check the embedded broker of a running `ven run`.
    return passed("config", `no broker configured: checking the embedded broker of a running ven run at ${config.broker.url} (MQTT 3.1.1), venId ${config.venId}`);
  }
  if (config.broker.protocol === "mqtts") {
    try {
      context.tls = loadTlsMaterial(config.tls, context.clock);
    } catch (error) {
      return failed("config", (error as Error).message, "Fix the file named above; ven certs check shows every problem with the certificate files at once.");
    }
  }
  let identity = "no client identity";
  if (config.auth === "sigv4") identity = "AWS credentials (sigv4)";
  else if (config.tls.cert) identity = `certificate ${config.tls.cert}`;
  else if (config.username) identity = `user ${config.username}`;
  return passed("config", `${config.broker.url}, venId ${config.venId}, ${identity}`);
}
