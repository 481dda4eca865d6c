import { payloadExcerpt } from "../protocol/commands.ts";
import type { DelayFigures, IntervalReport, SummaryReport, VenFigures, VenSummary } from "./stats.ts";

export interface ReceivedMessage {
  topic: string;
  payload: Buffer;
  retained: boolean;
  receivedAtMs: number;
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

function decodeUtf8(payload: Buffer): string | undefined {
  try {
    return strictUtf8.decode(payload);
  } catch {
    return undefined;
  }
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** Parses a payload as JSON, or returns undefined when it is not UTF-8 JSON. */
export function parseJsonPayload(payload: Buffer): { value: unknown } | undefined {
  try {
    return { value: JSON.parse(strictUtf8.decode(payload)) };
  } catch {
    return undefined;
  }
}

/**
 * Formats a message as one JSON object: `receivedAt`, `topic`, and the parsed `payload`, or for a payload
 * that is not JSON, `notJson: true` with a short `raw` excerpt and its size in `bytes`.
 */
export function formatJsonLine(message: ReceivedMessage): string {
  const record: Record<string, unknown> = {
    receivedAt: new Date(message.receivedAtMs).toISOString(),
    topic: message.topic,
  };
  if (message.retained) record.retained = true;
  const text = decodeUtf8(message.payload);
  if (text !== undefined && isJson(text) && !/[\r\n]/.test(text)) {
    // Valid JSON on one line goes out as it came, which saves serializing it again.
    const head = JSON.stringify(record);
    return `${head.slice(0, -1)},"payload":${text.trim()}}\n`;
  }
  const parsed = text === undefined ? undefined : parseJsonPayload(message.payload);
  if (parsed) {
    record.payload = parsed.value;
  } else {
    record.notJson = true;
    record.raw = JSON.parse(payloadExcerpt(message.payload, 200)) as string;
    record.bytes = message.payload.length;
  }
  return `${JSON.stringify(record)}\n`;
}

function number(value: unknown, digits = 2): string {
  return typeof value === "number" ? value.toFixed(digits) : "?";
}

/** Formats a message as a short human-readable line for a terminal. */
export function formatPrettyLine(message: ReceivedMessage): string {
  const time = new Date(message.receivedAtMs).toISOString().slice(11, 23);
  const retained = message.retained ? " (retained)" : "";
  const parsed = parseJsonPayload(message.payload);
  if (!parsed) {
    return `${time} ${message.topic}${retained}  not JSON, ${message.payload.length} bytes: ${payloadExcerpt(message.payload, 80)}\n`;
  }
  const value = parsed.value as Record<string, unknown> | null;
  let summary: string;
  if (value && typeof value === "object" && "usedPowerKw" in value && "seq" in value) {
    const event = value.eventId ? ` event ${String(value.eventId)} shed ${number(value.shedPowerKw)} kW` : "";
    summary = `${String(value.venId)} seq ${String(value.seq)} used ${number(value.usedPowerKw)} kW of ${number(value.panelMaxKw, 0)} kW${event}`;
  } else if (value && typeof value === "object" && "status" in value && "instance" in value) {
    const reason = value.reason ? ` (${String(value.reason)})` : "";
    summary = `${String(value.venId)} ${String(value.status)}${reason} instance ${String(value.instance)}`;
  } else if (value && typeof value === "object" && "op" in value && "status" in value) {
    const error = value.error && typeof value.error === "object" ? ` ${JSON.stringify(value.error)}` : "";
    summary = `${String(value.venId)} ack ${String(value.op)} ${String(value.status)} correlationId ${JSON.stringify(value.correlationId)}${error}`;
  } else {
    const text = JSON.stringify(value);
    summary = text.length > 200 ? `${text.slice(0, 200)}…` : text;
  }
  return `${time} ${message.topic}${retained}  ${summary}\n`;
}

/** Per-VEN lines shown under one pretty interval line; the rest are counted. */
const MAX_PRETTY_VEN_LINES = 10;

function meanDelayMs(delay: DelayFigures): number | undefined {
  return delay.count === 0 ? undefined : delay.sumMs / delay.count;
}

function milliseconds(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? "-" : String(Math.round(value));
}

function delayJson(delay: DelayFigures): { meanMs: number | null; minMs: number | null; maxMs: number | null; samples: number } {
  const rounded = (value: number | undefined) => (value === undefined || !Number.isFinite(value) ? null : Math.round(value));
  return { meanMs: rounded(meanDelayMs(delay)), minMs: rounded(delay.minMs), maxMs: rounded(delay.maxMs), samples: delay.count };
}

function venJson(ven: VenSummary): Record<string, unknown> {
  return {
    venId: ven.venId,
    messages: ven.messages,
    firstSeq: ven.firstSeq ?? null,
    lastSeq: ven.lastSeq ?? null,
    gaps: ven.gaps,
    missing: ven.missing,
    duplicates: ven.duplicates,
    late: ven.late,
    restarts: ven.restarts,
    delay: delayJson(ven.delay),
  };
}

function reportJson(type: "interval" | "summary", report: IntervalReport | SummaryReport): string {
  const record = {
    type,
    start: new Date(report.startMs).toISOString(),
    end: new Date(report.endMs).toISOString(),
    messages: report.messages,
    messagesPerSecond: Number(report.messagesPerSecond.toFixed(2)),
    vens: report.vens,
    vensTotal: report.vensTotal,
    notJson: report.notJson,
    withoutSeq: report.withoutSeq,
    gaps: report.totals.gaps,
    missing: report.totals.gaps - report.totals.filled,
    duplicates: report.totals.duplicates,
    late: report.totals.late,
    restarts: report.totals.restarts,
    delay: delayJson(report.totals.delay),
    perVen: report.perVen.map(venJson),
  };
  return `${JSON.stringify(record)}\n`;
}

function hasSeqProblem(figures: VenFigures): boolean {
  return figures.gaps > 0 || figures.duplicates > 0 || figures.late > 0 || figures.restarts > 0;
}

function figuresText(figures: VenFigures): string {
  const restarts = figures.restarts > 0 ? `  restarts ${figures.restarts}` : "";
  const delay = `delay mean ${milliseconds(meanDelayMs(figures.delay))} ms max ${milliseconds(figures.delay.maxMs)} ms`;
  return `gaps ${figures.gaps}  duplicates ${figures.duplicates}  late ${figures.late}${restarts}  ${delay}`;
}

/**
 * Formats the figures of one `--stats` interval: a JSON object for jsonl, or for pretty one line of
 * totals followed by a line for each VEN whose `seq` showed a gap, duplicate or late arrival.
 */
export function formatStatsInterval(report: IntervalReport, format: "pretty" | "jsonl"): string {
  if (format === "jsonl") return reportJson("interval", report);

  const time = new Date(report.endMs).toISOString().slice(11, 23);
  const seconds = ((report.endMs - report.startMs) / 1000).toFixed(1);
  const other = report.notJson + report.withoutSeq > 0 ? `  not JSON ${report.notJson}  without seq ${report.withoutSeq}` : "";
  const lines = [
    `${time} ${seconds} s  ${report.messages} msg  ${report.messagesPerSecond.toFixed(1)} msg/s  VENs ${report.vens} (${report.vensTotal} seen)  ${figuresText(report.totals)}${other}`,
  ];
  const troubled = report.perVen.filter(hasSeqProblem);
  for (const ven of troubled.slice(0, MAX_PRETTY_VEN_LINES)) {
    lines.push(`  ${ven.venId}  seq ${ven.lastSeq ?? "-"}  ${ven.messages} msg  ${figuresText(ven)}`);
  }
  if (troubled.length > MAX_PRETTY_VEN_LINES) lines.push(`  and ${troubled.length - MAX_PRETTY_VEN_LINES} more VENs with gaps, duplicates or late messages`);
  return `${lines.join("\n")}\n`;
}

const SUMMARY_COLUMNS = ["venId", "messages", "first seq", "last seq", "gaps", "missing", "duplicates", "late", "restarts", "delay mean ms", "delay max ms"];

function summaryRow(name: string, figures: VenFigures, firstSeq: number | undefined, lastSeq: number | undefined): string[] {
  return [
    name,
    String(figures.messages),
    firstSeq === undefined ? "-" : String(firstSeq),
    lastSeq === undefined ? "-" : String(lastSeq),
    String(figures.gaps),
    String(figures.gaps - figures.filled),
    String(figures.duplicates),
    String(figures.late),
    String(figures.restarts),
    milliseconds(meanDelayMs(figures.delay)),
    milliseconds(figures.delay.maxMs),
  ];
}

/**
 * Formats the `--stats` summary at exit: a JSON object for jsonl, or for pretty a heading and a
 * table with one row per VEN and a total row. `missing` counts the gaps that never arrived late.
 */
export function formatStatsSummary(report: SummaryReport, format: "pretty" | "jsonl"): string {
  if (format === "jsonl") return reportJson("summary", report);

  const seconds = ((report.endMs - report.startMs) / 1000).toFixed(1);
  const heading =
    `Summary: ${report.messages} messages in ${seconds} s (${report.messagesPerSecond.toFixed(1)} msg/s) from ${report.vensTotal} VENs` +
    `, not JSON ${report.notJson}, without venId or seq ${report.withoutSeq}`;
  const rows = [SUMMARY_COLUMNS, ...report.perVen.map((ven) => summaryRow(ven.venId, ven, ven.firstSeq, ven.lastSeq))];
  if (report.perVen.length > 1) rows.push(summaryRow("total", report.totals, undefined, undefined));
  const widths = SUMMARY_COLUMNS.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  const table = rows.map((row) => row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join("  ").trimEnd());
  return `${heading}\n${table.join("\n")}\n`;
}
