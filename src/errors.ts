/**
 * Exit codes shared by every command. The README documents this table; scripts rely on it.
 */
export const ExitCode = {
  ok: 0,
  failed: 1,
  usage: 2,
  timedOut: 3,
  brokerUnreachable: 4,
  alreadyRunning: 5,
} as const;

export type ExitCodeName = keyof typeof ExitCode;
export type ExitCodeValue = (typeof ExitCode)[ExitCodeName];

/**
 * An error that ends a command with a given exit code. The message names the value that failed
 * and what to do next; `hint` carries the next step when it reads better on its own line.
 */
export class VenError extends Error {
  readonly exitCode: ExitCodeValue;
  readonly hint: string | undefined;

  constructor(exitCode: ExitCodeValue, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "VenError";
    this.exitCode = exitCode;
    this.hint = options.hint;
  }
}

/** A flag, command or argument the command line does not accept (exit 2). */
export class UsageError extends VenError {
  constructor(message: string, options: { hint?: string } = {}) {
    super(ExitCode.usage, message, options);
    this.name = "UsageError";
  }
}

/** A setting that is missing or invalid, found before any socket opens (exit 2). */
export class ConfigError extends VenError {
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(ExitCode.usage, message, options);
    this.name = "ConfigError";
  }
}

/** Formats an unknown thrown value as one line for a log or an error message. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === "string" || typeof code === "number" ? `${error.message} (${code})` : error.message;
  }
  return String(error);
}
