import type { MqttClient } from "mqtt";
import type { Clock } from "../clock.ts";
import type { VenConfig } from "../config/resolve.ts";
import type { TlsMaterial } from "../config/tls-files.ts";

/** The doctor's steps, in the order they run. */
export const STEP_NAMES = ["config", "dns", "tcp", "tls", "status", "connect", "subscribe", "roundtrip"] as const;
export type StepName = (typeof STEP_NAMES)[number];

/** The outcome of one step. */
export interface StepResult {
  step: StepName;
  ok: boolean;
  /** One line naming the check and its finding. */
  detail: string;
  /** The next thing to do after a failure. */
  hint?: string | undefined;
}

/** Resolves a host name to IP addresses; injected so tests never touch real DNS. */
export type Resolver = (host: string) => Promise<string[]>;

/** State shared by the steps: later steps read the findings of earlier ones. */
export interface DoctorContext {
  config: VenConfig;
  clock: Clock;
  resolver: Resolver;
  /** Time allowed for each network step, in milliseconds. */
  timeoutMs: number;
  /** Connect with the VEN's client ID even when its retained status is online. */
  force: boolean;
  tls: TlsMaterial;
  /** Addresses found by the DNS step. */
  addresses: string[];
  /** The MQTT connection of the connect step, used by the steps after it. */
  client?: MqttClient | undefined;
  /** Client ID of the connect step: the venId, except with sigv4, which is an operator identity. */
  clientId: string;
}

export type Step = (context: DoctorContext) => Promise<StepResult>;

/** Builds a failed result. */
export function failed(step: StepName, detail: string, hint: string): StepResult {
  return { step, ok: false, detail, hint };
}

/** Builds a passed result. */
export function passed(step: StepName, detail: string): StepResult {
  return { step, ok: true, detail };
}

/** Resolves with the promise's value, or rejects with a timeout error after `timeoutMs`. */
export async function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`${what} timed out after ${timeoutMs / 1000} s`), { code: "ETIMEDOUT" })), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
