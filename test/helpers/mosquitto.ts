import { closeSync, existsSync, openSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Subprocess } from "bun";
import type { TestPki } from "./pki.ts";
import { freePort, portAcceptsConnections } from "./ports.ts";
import { makeTempDir, removeTempDir } from "./tempdirs.ts";

const MOSQUITTO_CANDIDATES = ["/usr/sbin/mosquitto", "/usr/bin/mosquitto", "/usr/local/sbin/mosquitto"];
const HOST = "127.0.0.1";
const START_TIMEOUT_MS = 5000;
const STOP_TIMEOUT_MS = 5000;
const POLL_MS = 50;
// Prefix of each message line printed by mosquitto_sub. The payload is printed as hex, so any
// bytes, newlines included, fit on one line.
const MESSAGE_MARKER = "ven-sub-message";
// mosquitto_sub exits with this code when -W runs out.
const SUB_TIMED_OUT = 27;

export type MqttCliProtocol = "5" | "311";

/** Options shared by `pub` and `subscribe`/`sub`. */
export interface CliClientOptions {
  qos?: 0 | 1 | 2;
  /** MQTT version for the CLI client. Default "5". */
  protocol?: MqttCliProtocol;
  clientId?: string;
  /**
   * Client certificate path for TLS brokers. Default: the PKI's `clientCert`. `false` connects
   * without a client certificate.
   */
  cert?: string | false;
  /** Key for `cert`. Default: the PKI's `clientKey`. */
  key?: string;
  /** CA used to verify the broker. Default: the PKI's `caCert`. */
  cafile?: string;
  /** Username (-u) for brokers that authenticate clients. */
  username?: string;
  /** Password (-P) for `username`. */
  password?: string;
}

export interface PubOptions extends CliClientOptions {
  retain?: boolean;
  /** Milliseconds after which mosquitto_pub is killed. Default 10000. */
  timeoutMs?: number;
}

export interface SubOptions extends CliClientOptions {
  /** Exit after this many messages (-C). */
  count: number;
  /** Exit after this many seconds even with fewer messages (-W). */
  timeoutS: number;
  /** Only handle retained messages and stop at the first live one (--retained-only). */
  retainedOnly?: boolean;
}

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface ReceivedMessage {
  topic: string;
  payload: Buffer;
  text: string;
  retain: boolean;
}

export interface MosquittoSubscription {
  /** Resolves once the broker acknowledged the subscription; rejects if the client exits first. */
  ready: Promise<void>;
  /**
   * Resolves with what arrived when mosquitto_sub exits after `count` messages or `timeoutS`.
   * Rejects on any other exit (for example a refused connection).
   */
  messages: Promise<ReceivedMessage[]>;
  /** Ends the client early; `messages` then resolves with what arrived so far. */
  stop(): void;
}

export interface StartMosquittoOptions {
  /** Serve MQTT over TLS with the PKI's server certificate (no plain listener). */
  tls?: TestPki | undefined;
  /** Only with `tls`. Default true. */
  requireCertificate?: boolean;
  /** Lines appended to the generated mosquitto.conf. */
  extraConfig?: string[];
  /** Listen on this port instead of a free one chosen at start. A port in use fails the start. */
  port?: number;
}

export interface MosquittoHandle {
  readonly host: string;
  readonly port: number;
  /** `mqtt://127.0.0.1:PORT`, or `mqtts://` with TLS. */
  readonly url: string;
  /** mosquitto's own log (log_dest file), appended to across restarts. */
  readonly logPath: string;
  readonly configPath: string;
  readonly dir: string;
  /** Process id of the running broker, undefined while stopped. */
  readonly pid: number | undefined;
  /** Reads the broker log, preceded by anything it printed before opening it. */
  readLog(): Promise<string>;
  /** Sends SIGTERM and waits for exit (SIGKILL after 5 s). Safe to call twice. */
  stop(): Promise<void>;
  /** Stops the broker and starts it again on the same port with the same config. */
  restart(): Promise<void>;
  /** Sends SIGSTOP: the port stays open but the broker sends nothing. */
  freeze(): void;
  /** Sends SIGCONT. */
  thaw(): void;
  /** Runs mosquitto_pub against this broker (QoS 1 and MQTT 5 by default). */
  pub(topic: string, message: string | Uint8Array, options?: PubOptions): Promise<CliResult>;
  /** Runs mosquitto_sub and resolves with the payloads received, as UTF-8 text. */
  sub(topic: string | string[], options: SubOptions): Promise<string[]>;
  /** Like `sub`, with a readiness signal and topic and retain flag for each message. */
  subscribe(topic: string | string[], options: SubOptions): MosquittoSubscription;
  /** Stops the broker and removes its directory. */
  dispose(): Promise<void>;
}

const liveProcesses = new Set<Subprocess>();
let exitHookInstalled = false;

function track(child: Subprocess): void {
  liveProcesses.add(child);
  void child.exited.then(() => liveProcesses.delete(child));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // `bun test` emits no 'exit' event but kills the subprocesses left at the end of the run itself.
  process.on("exit", () => {
    for (const left of liveProcesses) {
      try {
        left.kill("SIGKILL");
      } catch {
        // already gone
      }
    }
  });
}

export function mosquittoBinary(): string | undefined {
  return MOSQUITTO_CANDIDATES.find((path) => existsSync(path)) ?? Bun.which("mosquitto") ?? undefined;
}

/** True when the mosquitto broker and its command-line clients are installed. */
export function mosquittoAvailable(): boolean {
  return mosquittoBinary() !== undefined && Bun.which("mosquitto_pub") !== null && Bun.which("mosquitto_sub") !== null;
}

function buildConfig(port: number, logPath: string, options: StartMosquittoOptions): string {
  const lines = [
    `listener ${port} ${HOST}`,
    "allow_anonymous true",
    "persistence false",
    `log_dest file ${logPath}`,
    "log_type all",
    "log_timestamp_format %Y-%m-%dT%H:%M:%S",
  ];
  // As root, mosquitto switches to its own user before reading the certificates, which then
  // cannot read the 0700 temporary directory.
  if (process.getuid?.() === 0) lines.push("user root");
  const pki = options.tls;
  if (pki) {
    lines.push(
      `cafile ${pki.files.caCert}`,
      `certfile ${pki.files.serverCert}`,
      `keyfile ${pki.files.serverKey}`,
      `require_certificate ${options.requireCertificate ?? true}`,
      "use_identity_as_username false",
    );
  }
  lines.push(...(options.extraConfig ?? []));
  return `${lines.join("\n")}\n`;
}

async function readIfPresent(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch {
    return "";
  }
}

async function waitForExit(child: Subprocess, timeoutMs: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  const exited = child.exited.then(() => true as const);
  const result = await Promise.race([exited, timedOut]);
  clearTimeout(timer);
  return result;
}

/**
 * Starts mosquitto on 127.0.0.1 with a generated config in a fresh temporary directory and waits
 * until it accepts TCP connections. The process is killed when the test process exits.
 */
export async function startMosquitto(options: StartMosquittoOptions = {}): Promise<MosquittoHandle> {
  const binary = mosquittoBinary();
  if (!binary) throw new Error("mosquitto not found: install the Debian packages mosquitto and mosquitto-clients");
  const dir = await makeTempDir("ven-mosquitto-");
  const logPath = join(dir, "mosquitto.log");
  const consolePath = join(dir, "mosquitto.out");
  const configPath = join(dir, "mosquitto.conf");
  const pki = options.tls;

  let child: Subprocess | undefined;
  let frozen = false;

  const readLog = async () => {
    const [early, log] = await Promise.all([readIfPresent(consolePath), readIfPresent(logPath)]);
    return early + log;
  };

  const launch = async (port: number): Promise<void> => {
    await writeFile(configPath, buildConfig(port, logPath, options));
    const logOffset = (await readIfPresent(logPath)).length;
    const out = openSync(consolePath, "a");
    let started: Subprocess;
    try {
      started = Bun.spawn([binary, "-c", configPath], { cwd: dir, stdin: "ignore", stdout: out, stderr: out });
    } finally {
      closeSync(out);
    }
    track(started);
    child = started;
    frozen = false;
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (started.exitCode !== null || started.signalCode !== null) {
        child = undefined;
        throw new MosquittoStartError(
          `mosquitto exited during start (code ${started.exitCode}, signal ${started.signalCode})`,
          await readLog(),
        );
      }
      // The log line rules out another process that holds the same port.
      const running = (await readIfPresent(logPath)).slice(logOffset).includes(" running");
      if (running && (await portAcceptsConnections(port, 250))) return;
      await Bun.sleep(POLL_MS);
    }
    started.kill("SIGKILL");
    await started.exited;
    child = undefined;
    throw new MosquittoStartError(`mosquitto did not accept connections on port ${port} within ${START_TIMEOUT_MS} ms`, await readLog());
  };

  let port = options.port ?? (await freePort());
  for (let attempt = 1; ; attempt++) {
    try {
      await launch(port);
      break;
    } catch (error) {
      // Another process may take the port between freePort() and mosquitto's bind.
      const portTaken = error instanceof MosquittoStartError && /address already in use/i.test(error.log);
      if (!portTaken || attempt >= 3 || options.port !== undefined) {
        await removeTempDir(dir);
        throw error;
      }
      port = await freePort();
    }
  }

  const stop = async () => {
    const running = child;
    if (!running) return;
    child = undefined;
    running.kill("SIGTERM");
    if (frozen) running.kill("SIGCONT");
    frozen = false;
    if (!(await waitForExit(running, STOP_TIMEOUT_MS))) {
      running.kill("SIGKILL");
      await running.exited;
    }
  };

  const tlsArgs = (opts: CliClientOptions): string[] => {
    if (!pki) return [];
    const args = ["--cafile", opts.cafile ?? pki.files.caCert];
    if (opts.cert !== false) {
      args.push("--cert", opts.cert ?? pki.files.clientCert, "--key", opts.key ?? pki.files.clientKey);
    }
    return args;
  };

  const commonArgs = (opts: CliClientOptions): string[] => {
    const args = ["-h", HOST, "-p", String(port), "-q", String(opts.qos ?? 1), "-V", opts.protocol === "311" ? "mqttv311" : "mqttv5"];
    if (opts.clientId !== undefined) args.push("-i", opts.clientId);
    if (opts.username !== undefined) args.push("-u", opts.username);
    if (opts.password !== undefined) args.push("-P", opts.password);
    return [...args, ...tlsArgs(opts)];
  };

  const pub = async (topic: string, message: string | Uint8Array, opts: PubOptions = {}): Promise<CliResult> => {
    const args = ["mosquitto_pub", ...commonArgs(opts), "-t", topic];
    if (opts.retain) args.push("-r");
    // Binary payloads go through stdin (-s) because argv cannot carry arbitrary bytes.
    if (typeof message === "string") args.push("-m", message);
    else args.push("-s");
    const stdin = typeof message === "string" ? "ignore" : message;
    const client = Bun.spawn(args, { stdin, stdout: "pipe", stderr: "pipe" });
    track(client);
    const killer = setTimeout(() => client.kill("SIGKILL"), opts.timeoutMs ?? 10_000);
    const [exitCode, stdout, stderr] = await Promise.all([
      client.exited,
      new Response(client.stdout).text(),
      new Response(client.stderr).text(),
    ]);
    clearTimeout(killer);
    return { exitCode, stdout, stderr };
  };

  const subscribe = (topic: string | string[], opts: SubOptions): MosquittoSubscription => {
    const topics = Array.isArray(topic) ? topic : [topic];
    // mosquitto_sub block-buffers a piped stdout, which would hold back the SUBACK line.
    const stdbuf = Bun.which("stdbuf");
    if (!stdbuf) throw new Error("stdbuf (coreutils) is required to read mosquitto_sub output as it arrives");
    const args = [stdbuf, "-oL", "mosquitto_sub", ...commonArgs(opts), "-d", "-F", `${MESSAGE_MARKER} %r %x %t`, "-C", String(opts.count), "-W", String(opts.timeoutS)];
    for (const filter of topics) args.push("-t", filter);
    if (opts.retainedOnly) args.push("--retained-only");
    const client = Bun.spawn(args, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    track(client);
    const killer = setTimeout(() => client.kill("SIGTERM"), (opts.timeoutS + 5) * 1000);

    const received: ReceivedMessage[] = [];
    let markReady: () => void = () => {};
    let subscribed = false;
    const ready = new Promise<void>((resolve) => {
      markReady = () => {
        subscribed = true;
        resolve();
      };
    });
    const linePattern = new RegExp(`^${MESSAGE_MARKER} ([01]) ([0-9a-fA-F]*) (.*)$`);
    const readStdout = (async () => {
      const decoder = new TextDecoder();
      let buffered = "";
      for await (const chunk of client.stdout) {
        buffered += decoder.decode(chunk, { stream: true });
        let newline = buffered.indexOf("\n");
        while (newline >= 0) {
          const line = buffered.slice(0, newline);
          buffered = buffered.slice(newline + 1);
          newline = buffered.indexOf("\n");
          if (line.startsWith("Subscribed (mid:")) markReady();
          const match = linePattern.exec(line);
          if (match) {
            const payload = Buffer.from(match[2] ?? "", "hex");
            received.push({ topic: match[3] ?? "", payload, text: payload.toString("utf8"), retain: match[1] === "1" });
          }
        }
      }
    })();
    const stderrText = new Response(client.stderr).text();

    let stoppedByCaller = false;
    const finished = Promise.all([client.exited, readStdout, stderrText]).then(([exitCode, , stderr]) => {
      clearTimeout(killer);
      return { exitCode, stderr };
    });
    const messages = finished.then(({ exitCode, stderr }) => {
      if (exitCode === 0 || exitCode === SUB_TIMED_OUT || stoppedByCaller) return received;
      throw new Error(`mosquitto_sub exited with ${exitCode}: ${stderr.trim()}`);
    });
    const readyOrExit = Promise.race([
      ready,
      finished.then(({ exitCode, stderr }) => {
        if (!subscribed) throw new Error(`mosquitto_sub exited with ${exitCode} before subscribing: ${stderr.trim()}`);
      }),
    ]);
    readyOrExit.catch(() => {});
    messages.catch(() => {});
    return {
      ready: readyOrExit,
      messages,
      stop() {
        stoppedByCaller = true;
        client.kill("SIGTERM");
      },
    };
  };

  const handle: MosquittoHandle = {
    host: HOST,
    get port() {
      return port;
    },
    get url() {
      return `${pki ? "mqtts" : "mqtt"}://${HOST}:${port}`;
    },
    logPath,
    configPath,
    dir,
    get pid() {
      return child?.pid;
    },
    readLog,
    stop,
    async restart() {
      await stop();
      await launch(port);
    },
    freeze() {
      if (!child) throw new Error("mosquitto is not running");
      child.kill("SIGSTOP");
      frozen = true;
    },
    thaw() {
      if (!child) throw new Error("mosquitto is not running");
      child.kill("SIGCONT");
      frozen = false;
    },
    pub,
    async sub(topic, opts) {
      const received = await subscribe(topic, opts).messages;
      return received.map((message) => message.text);
    },
    subscribe,
    async dispose() {
      await stop();
      await removeTempDir(dir);
    },
  };
  return handle;
}

export class MosquittoStartError extends Error {
  constructor(
    message: string,
    readonly log: string,
  ) {
    super(`${message}\n--- mosquitto log ---\n${log}`);
    this.name = "MosquittoStartError";
  }
}
