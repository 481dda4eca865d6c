import { hostname, homedir } from "node:os";
import { systemClock, type Clock } from "../clock.ts";

/** A stream that takes text: stdout, stderr, or a buffer in tests. */
export interface OutputStream {
  write(text: string): unknown;
  isTTY?: boolean | undefined;
}

/**
 * Everything a command takes from the process, so tests can run commands in-process with their
 * own streams, environment and stop signal.
 */
export interface CliIo {
  stdout: OutputStream;
  stderr: OutputStream;
  env: Record<string, string | undefined>;
  cwd: string;
  hostname: string;
  homeDir: string;
  pid: number;
  clock: Clock;
  /** Aborted when the user asks the program to stop (SIGINT or SIGTERM). */
  stopSignal: AbortSignal;
}

/**
 * Connects commands to the real process: signals abort `stopSignal`, and a second SIGINT or SIGTERM exits at once.
 * SIGHUP is logged and ignored, because the configuration is read only at start.
 */
export function processIo(): CliIo {
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      process.stderr.write(`Second ${signal}: exiting now\n`);
      process.exit(signal === "SIGINT" ? 130 : 143);
    }
    controller.abort(signal);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.on("SIGHUP", () => process.stderr.write("SIGHUP ignored: ven reads its configuration only at start; restart it to apply changes\n"));

  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    hostname: hostname(),
    homeDir: homedir(),
    pid: process.pid,
    clock: systemClock,
    stopSignal: controller.signal,
  };
}
