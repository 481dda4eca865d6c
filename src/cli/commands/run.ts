import { defineCommand } from "citty";
import { runService } from "../../agent/service.ts";
import { discoverBroker } from "../../aws/discover.ts";
import { ConfigError, ExitCode } from "../../errors.ts";
import { settingArgs } from "../args.ts";
import { fetchMissingCertificates } from "./certs.ts";
import { loadConfiguration, type CommandData } from "../context.ts";

export const runCommandDef = defineCommand({
  meta: {
    name: "run",
    description: "Run the VEN: connect, publish telemetry every interval, answer commands (embedded broker when none is set)",
  },
  args: {
    ...settingArgs(),
    "fetch-certs": {
      type: "string",
      description: "When a certificate file is missing, fetch all three from this AWS Secrets Manager secret first (needs AWS credentials)",
      valueHint: "SECRET",
    },
  },
  async run({ data }) {
    const { io, flags } = data as CommandData;
    if (typeof flags["fetch-certs"] === "string") await fetchMissingCertificates(data as CommandData, flags["fetch-certs"]);
    const { resolved, log } = loadConfiguration(data as CommandData);
    if (resolved.config.auth === "sigv4") {
      throw new ConfigError("ven run connects with the device certificate; --auth sigv4 is for operator tools such as ven listen and ven send. Fix: use --auth mtls.");
    }
    await runService({
      config: await discoverBroker(resolved.config, log),
      clock: io.clock,
      log,
      hostname: io.hostname,
      pid: io.pid,
      stopSignal: io.stopSignal,
    });
    return ExitCode.ok;
  },
});
