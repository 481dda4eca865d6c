import { createLogger, type Logger } from "../logger.ts";
import { resolveConfig, type ResolvedConfig } from "../config/resolve.ts";
import { settingFlags, type FlagValues } from "./args.ts";
import type { CliIo } from "./io.ts";

/** Data that `main` passes to every command through citty's `data`. */
export interface CommandData {
  io: CliIo;
  /** The strictly parsed flags. */
  flags: FlagValues;
}

/**
 * Resolves the configuration from flags, environment, file and defaults, creates the root logger
 * on stderr and logs the configuration warnings. Throws a ConfigError before anything connects.
 */
export function loadConfiguration(data: CommandData, options: { certificatesPending?: boolean } = {}): { resolved: ResolvedConfig; log: Logger } {
  const { io, flags } = data;
  const resolved = resolveConfig({
    certificatesPending: options.certificatesPending,
    flags: settingFlags(flags),
    configFile: typeof flags.config === "string" ? flags.config : undefined,
    env: io.env,
    cwd: io.cwd,
    hostname: io.hostname,
    homeDir: io.homeDir,
  });
  const log = createLogger({ level: resolved.config.logLevel, format: resolved.config.logFormat, sink: io.stderr });
  for (const warning of resolved.warnings) log.withTag("config").warn(warning);
  return { resolved, log };
}

/** Returns the data output format: the configured one, else pretty on a terminal and jsonl otherwise. */
export function outputFormat(resolved: ResolvedConfig, io: CliIo): "pretty" | "jsonl" {
  return resolved.config.output ?? (io.stdout.isTTY ? "pretty" : "jsonl");
}
