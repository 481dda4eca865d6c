import { afterAll, afterEach, beforeAll } from "bun:test";
import * as v from "valibot";
import { StatusSchema, type Status } from "../../src/protocol/status.ts";
import { assertPrerequisites, VenInstall } from "../helpers/binary.ts";
import { startMosquitto, type MosquittoHandle } from "../helpers/mosquitto.ts";
import type { TestPki } from "../helpers/pki.ts";

/**
 * Settings shortened for a local broker: telemetry every second, keep-alive 5 s and reconnect
 * delays between 0.2 and 1 s.
 */
export const FAST_SETTINGS = ["--interval", "1", "--keepalive", "5", "--reconnect-min-delay", "0.2", "--reconnect-max-delay", "1"] as const;

export const topicsOf = (venId: string) => ({
  telemetry: `ven/telemetry/${venId}`,
  command: `ven/cmd/${venId}`,
  ack: `ven/ack/${venId}`,
  status: `ven/status/${venId}`,
});

/** `--ca`, `--cert` and `--key` with the test PKI's CA and valid client certificate. */
export function tlsFlags(pki: TestPki): string[] {
  return ["--ca", pki.files.caCert, "--cert", pki.files.clientCert, "--key", pki.files.clientKey];
}

export interface VenTarget {
  broker: MosquittoHandle;
  venId: string;
  /** Set for a broker that serves mutual TLS. */
  pki?: TestPki | undefined;
}

/** Arguments of `ven run` against the target with fast settings and the given state directory. */
export function runArgs(target: VenTarget, stateDir: string): string[] {
  const tls = target.pki ? tlsFlags(target.pki) : [];
  return ["run", "--broker", target.broker.url, "--ven-id", target.venId, ...FAST_SETTINGS, "--state-dir", stateDir, ...tls];
}

/** Arguments of `ven listen` for the target's telemetry, followed by `extra`. */
export function listenArgs(target: VenTarget, extra: readonly string[]): string[] {
  const tls = target.pki ? tlsFlags(target.pki) : [];
  return ["listen", "--broker", target.broker.url, "--ven-id", target.venId, ...tls, ...extra];
}

/** Extracts the process id from a status `instance` (`host/pid/startSeconds`). */
export function instancePid(instance: string): number {
  return Number(instance.split("/").at(-2));
}

/** Reads the retained status of a VEN once, or returns undefined when none is retained. */
export async function readRetainedStatus(broker: MosquittoHandle, venId: string): Promise<Status | undefined> {
  const [text] = await broker.sub(topicsOf(venId).status, { count: 1, timeoutS: 1, retainedOnly: true });
  if (text === undefined || text === "") return undefined;
  return v.parse(StatusSchema, JSON.parse(text));
}

/**
 * Polls the retained status until it comes from process `pid` and has the given `status`, and
 * returns it. Throws with the last status seen after `timeoutMs`.
 */
export async function waitForStatus(
  broker: MosquittoHandle,
  venId: string,
  pid: number,
  status: "online" | "offline",
  timeoutMs = 8000,
): Promise<Status> {
  const deadline = Date.now() + timeoutMs;
  let last: Status | undefined;
  while (Date.now() < deadline) {
    last = await readRetainedStatus(broker, venId);
    if (last && last.status === status && instancePid(last.instance) === pid) return last;
    await Bun.sleep(100);
  }
  throw new Error(`no retained ${status} status from pid ${pid} within ${timeoutMs} ms; last seen: ${JSON.stringify(last)}`);
}

/** Returns the parsed value, or undefined when the line is not one JSON document. */
export function parseJsonLine(line: string): unknown {
  try {
    return JSON.parse(line) as unknown;
  } catch {
    return undefined;
  }
}

export const ANSI_ESCAPE = /\u001b\[/;

/** The binary in a fresh folder and a plain mosquitto, shared by the tests of one file. */
export interface BinaryAndBroker {
  readonly install: VenInstall;
  readonly broker: MosquittoHandle;
  readonly target: VenTarget;
}

/**
 * Registers the hooks that start a plain mosquitto and copy the binary before the file's tests,
 * kill what each test left running, and remove both at the end. Call it inside `describe`.
 */
export function useBinaryAndBroker(venId: string): BinaryAndBroker {
  let install: VenInstall | undefined;
  let broker: MosquittoHandle | undefined;

  beforeAll(async () => {
    assertPrerequisites();
    broker = await startMosquitto();
    install = await VenInstall.create();
  });

  afterEach(async () => {
    await install?.killAll();
  });

  afterAll(async () => {
    await install?.dispose();
    await broker?.dispose();
  });

  return {
    get install() {
      if (!install) throw new Error("the binary is not installed yet: use it inside a test");
      return install;
    },
    get broker() {
      if (!broker) throw new Error("mosquitto is not started yet: use it inside a test");
      return broker;
    },
    get target() {
      return { broker: this.broker, venId };
    },
  };
}
