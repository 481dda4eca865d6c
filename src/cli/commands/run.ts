import { defineCommand } from "citty";
import { runService } from "../../agent/service.ts";
import { ExitCode } from "../../errors.ts";
import { settingArgs } from "../args.ts";
import { loadConfiguration, type CommandData } from "../context.ts";

export const runCommandDef = defineCommand({
  meta: {
    name: "run",
    description: "Run the VEN: connect, publish telemetry every interval, answer commands (embedded broker when none is set)",
  },
  args: settingArgs(),
  async run({ data }) {
    const { io } = data as CommandData;
    const { resolved, log } = loadConfiguration(data as CommandData);
    await runService({
      config: resolved.config,
      clock: io.clock,
      log,
      hostname: io.hostname,
      pid: io.pid,
      stopSignal: io.stopSignal,
    });
    return ExitCode.ok;
  },
});
