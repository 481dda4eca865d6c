import { main } from "../../src/cli/main.ts";
import type { CliIo, OutputStream } from "../../src/cli/io.ts";
import type { Clock } from "../../src/clock.ts";
import { ManualClock } from "./clock.ts";
import { makeTempDir, removeTempDir } from "./tempdirs.ts";

export const CLI_HOSTNAME = "test-host";
export const CLI_PID = 4242;

export interface RunCliOptions {
  /** Environment passed to the command. HOME is always added and set to a temporary directory. */
  env?: Record<string, string>;
  /** Working directory, or a fresh temporary directory when unset. */
  cwd?: string;
  clock?: Clock;
  /** Stop signal passed to the command. When unset, the command gets one that is never aborted. */
  stopSignal?: AbortSignal;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** An output stream that stores everything written to it, and is not a terminal. */
class TextCollector implements OutputStream {
  readonly isTTY = false;
  private readonly chunks: string[] = [];

  write(text: string): boolean {
    this.chunks.push(text);
    return true;
  }

  get text(): string {
    return this.chunks.join("");
  }
}

/**
 * Runs `ven ARGV` in-process through `main`, with a clean environment, a temporary HOME, and a
 * temporary working directory unless `cwd` is given. Temporary directories are removed afterwards.
 */
export async function runCli(argv: readonly string[], options: RunCliOptions = {}): Promise<CliResult> {
  const home = await makeTempDir("ven-cli-home-");
  const ownCwd = options.cwd === undefined ? await makeTempDir("ven-cli-cwd-") : undefined;
  const stdout = new TextCollector();
  const stderr = new TextCollector();
  const io: CliIo = {
    stdout,
    stderr,
    env: { ...options.env, HOME: home },
    cwd: options.cwd ?? ownCwd!,
    hostname: CLI_HOSTNAME,
    homeDir: home,
    pid: CLI_PID,
    clock: options.clock ?? new ManualClock(),
    stopSignal: options.stopSignal ?? new AbortController().signal,
  };

  try {
    const code = await main(argv, io);
    return { code, stdout: stdout.text, stderr: stderr.text };
  } finally {
    await removeTempDir(home);
    if (ownCwd !== undefined) await removeTempDir(ownCwd);
  }
}
