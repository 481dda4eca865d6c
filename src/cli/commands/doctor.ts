import { defineCommand } from "citty";
import { discoverBroker } from "../../aws/discover.ts";
import { formatStep, runDoctor, type DoctorReport } from "../../doctor/doctor.ts";
import { ExitCode, UsageError, describeError } from "../../errors.ts";
import { settingArgs } from "../args.ts";
import { loadConfiguration, outputFormat, type CommandData } from "../context.ts";

export const doctorCommand = defineCommand({
  meta: {
    name: "doctor",
    description:
      "Check the path to the broker step by step (files, DNS, TCP, TLS, status, CONNECT, SUBSCRIBE, round trip). Uses the VEN's own identity and exits 1 at the first failing step.",
  },
  args: {
    ...settingArgs(),
    timeout: { type: "string", description: "Seconds allowed for each network step (default 10)", valueHint: "SECONDS" },
    force: { type: "boolean", description: "Connect with the VEN's client ID even when its retained status is online (takes over its session)" },
  },
  async run({ data }) {
    const { io, flags } = data as CommandData;
    const timeoutText = typeof flags.timeout === "string" ? flags.timeout : "10";
    const timeoutS = Number(timeoutText);
    if (!/^\d+(\.\d+)?$/.test(timeoutText) || timeoutS <= 0 || timeoutS > 600) {
      throw new UsageError(`--timeout must be seconds from 0.1 to 600; got ${JSON.stringify(timeoutText)}`);
    }
    const { resolved, log } = loadConfiguration(data as CommandData);
    const pretty = outputFormat(resolved, io) === "pretty";
    let config = resolved.config;
    let report: DoctorReport;
    try {
      config = await discoverBroker(config, log);
    } catch (error) {
      report = { ok: false, failedStep: "config", steps: [{ step: "config", ok: false, detail: `--broker auto: ${describeError(error)}`, hint: "Give the endpoint with --broker, or AWS credentials that may call iot:DescribeEndpoint." }] };
      io.stdout.write(pretty ? formatStep(report.steps[0]!) : `${JSON.stringify(report)}\n`);
      return ExitCode.failed;
    }
    if (pretty) io.stdout.write(`Checking ${config.broker.url} for ${config.venId}\n`);
    report = await runDoctor({
      config,
      clock: io.clock,
      timeoutMs: timeoutS * 1000,
      force: flags.force === true,
      onStep: (result) => {
        if (pretty) io.stdout.write(formatStep(result));
      },
    });
    if (pretty) io.stdout.write(report.ok ? "All steps passed.\n" : `Failed at step ${report.failedStep}.\n`);
    else io.stdout.write(`${JSON.stringify(report)}\n`);
    return report.ok ? ExitCode.ok : ExitCode.failed;
  },
});
