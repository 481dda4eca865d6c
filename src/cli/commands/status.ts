import { defineCommand } from "citty";
import { healthProblems, readHealth } from "../../agent/health.ts";
import { processAlive } from "../../agent/lock.ts";
import { stateFile } from "../../agent/state-dir.ts";
import { HEALTH_FILE } from "../../agent/health.ts";
import { ExitCode, VenError } from "../../errors.ts";
import { settingArgs } from "../args.ts";
import { loadConfiguration, outputFormat, type CommandData } from "../context.ts";

export const statusCommand = defineCommand({
  meta: {
    name: "status",
    description: "Print the health of the ven run that uses this venId and state directory; exit 0 when healthy, 1 when not",
  },
  args: settingArgs(),
  run({ data }) {
    const { io } = data as CommandData;
    const { resolved } = loadConfiguration(data as CommandData);
    const { config } = resolved;
    const record = readHealth(config.stateDir);
    if (!record) {
      throw new VenError(
        ExitCode.failed,
        `No health file at ${stateFile(config.stateDir, HEALTH_FILE)}: ven run has not run with this venId (${config.venId}) and state directory.`,
        { hint: "Pass the same --ven-id and --state-dir (or variables) as the ven run you want to check." },
      );
    }
    const problems = healthProblems(record, io.clock.now(), processAlive);
    const healthy = problems.length === 0;

    if (outputFormat(resolved, io) === "jsonl") {
      io.stdout.write(`${JSON.stringify({ healthy, problems, health: record })}\n`);
      return healthy ? ExitCode.ok : ExitCode.failed;
    }
    const lines = [
      `${record.venId}: ${healthy ? "healthy" : "unhealthy"}`,
      `  process          ${record.pid} (${record.instance})${record.stopped ? ", stopped" : ""}`,
      `  connected        ${record.connected ? "yes" : "no"} since ${record.since}`,
      `  last telemetry   published ${record.lastTelemetryPublishedAt ?? "never"}, acknowledged ${record.lastTelemetryAckedAt ?? "never"}`,
      `  outbox           ${record.outbox.depth} message(s)${record.outbox.oldestAt ? `, oldest from ${record.outbox.oldestAt}` : ""}`,
      `  last error       ${record.lastError ?? "none"}`,
      `  updated          ${record.updatedAt}`,
      ...problems.map((problem) => `  problem          ${problem}`),
    ];
    io.stdout.write(`${lines.join("\n")}\n`);
    return healthy ? ExitCode.ok : ExitCode.failed;
  },
});
