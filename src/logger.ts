import { createConsola, LogLevels, type ConsolaInstance, type ConsolaReporter, type LogObject } from "consola/core";
import { formatWithOptions } from "node:util";
import { escapeControl } from "./text.ts";

export type Logger = ConsolaInstance;
export const LOG_LEVELS = ["silent", "error", "warn", "info", "debug", "trace"] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ["pretty", "json"] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Destination of log lines: stderr in the program, a string buffer in tests. */
export interface LineSink {
  write(text: string): unknown;
}

export interface LoggerOptions {
  level: LogLevelName;
  format: LogFormat;
  sink: LineSink;
}

/**
 * Creates the root logger. Every module takes a child made with `withTag`, so each line names its
 * source. Lines go to the sink (stderr by default), never to stdout, which belongs to data.
 */
export function createLogger(options: LoggerOptions): Logger {
  const reporter = options.format === "json" ? jsonReporter(options.sink) : prettyReporter(options.sink);
  return createConsola({
    level: LogLevels[options.level],
    reporters: [reporter],
    // consola collapses identical lines logged within this window into one line with a count.
    throttle: 1000,
    throttleMin: 5,
  });
}

function messageOf(logObj: LogObject): string {
  const args = logObj.args.map((arg: unknown) => (arg instanceof Error ? arg.message : arg));
  const text = formatWithOptions({ breakLength: Number.POSITIVE_INFINITY, colors: false }, ...args);
  return escapeControl(text);
}

function levelName(logObj: LogObject): string {
  if (logObj.level <= 0) return "error";
  if (logObj.level === 1) return "warn";
  if (logObj.level <= 3) return "info";
  if (logObj.level === 4) return "debug";
  return "trace";
}

function repeatSuffix(logObj: LogObject): string {
  const repeated = (logObj as { repeated?: number }).repeated;
  return repeated ? ` (repeated ${repeated} times)` : "";
}

function prettyReporter(sink: LineSink): ConsolaReporter {
  return {
    log(logObj) {
      const level = levelName(logObj).toUpperCase().padEnd(5);
      const tag = logObj.tag ? ` [${logObj.tag}]` : "";
      sink.write(`${logObj.date.toISOString()} ${level}${tag} ${messageOf(logObj)}${repeatSuffix(logObj)}\n`);
    },
  };
}

function jsonReporter(sink: LineSink): ConsolaReporter {
  return {
    log(logObj) {
      const record: Record<string, unknown> = {
        time: logObj.date.toISOString(),
        level: levelName(logObj),
        tag: logObj.tag || undefined,
        msg: messageOf(logObj) + repeatSuffix(logObj),
      };
      const error = logObj.args.find((arg: unknown) => arg instanceof Error) as Error | undefined;
      if (error) record.error = { name: error.name, message: error.message, code: (error as { code?: unknown }).code };
      sink.write(`${JSON.stringify(record)}\n`);
    },
  };
}
