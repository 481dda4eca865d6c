import { lookup } from "node:dns/promises";
import type { Clock } from "../clock.ts";
import type { VenConfig } from "../config/resolve.ts";
import { operatorClientId } from "../listen/listener.ts";
import { checkConfiguration } from "./steps/config.ts";
import { checkConnect } from "./steps/connect.ts";
import { checkDns } from "./steps/dns.ts";
import { closeClient } from "./steps/mqtt-client.ts";
import { checkRoundTrip } from "./steps/roundtrip.ts";
import { checkStatus } from "./steps/status.ts";
import { checkSubscribe } from "./steps/subscribe.ts";
import { checkTcp } from "./steps/tcp.ts";
import { checkTls } from "./steps/tls.ts";
import type { DoctorContext, Resolver, Step, StepResult } from "./types.ts";

const STEPS: readonly Step[] = [checkConfiguration, checkDns, checkTcp, checkTls, checkStatus, checkConnect, checkSubscribe, checkRoundTrip];

/** The system resolver: every address the operating system finds for the name. */
export const systemResolver: Resolver = async (host) => (await lookup(host, { all: true })).map((entry) => entry.address);

export interface DoctorOptions {
  config: VenConfig;
  clock: Clock;
  resolver?: Resolver;
  timeoutMs: number;
  force: boolean;
  /** Called after each step, so a terminal can show progress. */
  onStep?: (result: StepResult) => void;
}

/** The doctor's verdict: every step that ran, and the one that failed. */
export interface DoctorReport {
  ok: boolean;
  failedStep: string | null;
  steps: StepResult[];
}

/** Runs the steps in order and stops at the first failure. Always closes its MQTT connection. */
export async function runDoctor(options: DoctorOptions): Promise<DoctorReport> {
  const context: DoctorContext = {
    config: options.config,
    clock: options.clock,
    resolver: options.resolver ?? systemResolver,
    timeoutMs: options.timeoutMs,
    force: options.force,
    tls: {},
    addresses: [],
    clientId: options.config.auth === "sigv4" ? operatorClientId(options.config.venId, "doctor") : options.config.venId,
  };
  const steps: StepResult[] = [];
  try {
    for (const step of STEPS) {
      const result = await step(context);
      steps.push(result);
      options.onStep?.(result);
      if (!result.ok) return { ok: false, failedStep: result.step, steps };
    }
    return { ok: true, failedStep: null, steps };
  } finally {
    closeClient(context.client);
  }
}

/** Formats one step as a terminal line, with the hint under a failure. */
export function formatStep(result: StepResult): string {
  const line = `${result.ok ? "PASS" : "FAIL"}  ${result.step.padEnd(9)}  ${result.detail}\n`;
  return result.ok || !result.hint ? line : `${line}      ${"".padEnd(9)}  Next: ${result.hint}\n`;
}
