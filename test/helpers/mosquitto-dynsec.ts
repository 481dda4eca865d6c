import { existsSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { startMosquitto, type CliClientOptions, type CliResult, type MosquittoHandle, type StartMosquittoOptions } from "./mosquitto.ts";
import { makeTempDir, removeTempDir } from "./tempdirs.ts";

/** Paths searched for the dynamic-security plugin. Debian 12's mosquitto 2.0.11 (amd64) installs the first. */
const PLUGIN_CANDIDATES = [
  "/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so",
  "/usr/lib/aarch64-linux-gnu/mosquitto_dynamic_security.so",
  "/usr/lib/mosquitto_dynamic_security.so",
  "/usr/local/lib/mosquitto_dynamic_security.so",
];
const HOST = "127.0.0.1";
const ADMIN_USERNAME = "dynsec-admin";
const TESTER_USERNAME = "dynsec-tester";
const RESTRICTED_ROLE = "ven-restricted";
const TESTER_ROLE = "tester-all";
const CTRL_TIMEOUT_MS = 5000;

export interface StartMosquittoWithDynsecOptions extends Omit<StartMosquittoOptions, "extraConfig"> {
  /**
   * Topic filters the restricted user may not subscribe to. Each is denied both as a pattern and
   * literally, so the filter itself and every filter it matches get a SUBACK failure code.
   */
  deniedSubscriptions: string[];
  /** The restricted user. It may publish anywhere and subscribe to everything else. */
  username: string;
  password: string;
  /** Binds the restricted user to this client ID, which mosquitto then enforces at CONNECT. */
  clientId?: string;
  /** Lines appended to the generated mosquitto.conf after the plugin lines. */
  extraConfig?: string[];
}

export interface Credentials {
  username: string;
  password: string;
}

export interface MosquittoDynsecHandle extends MosquittoHandle {
  /** The dynamic-security JSON file, which the plugin rewrites on every change. */
  readonly dynsecConfigPath: string;
  /** The administrator created offline by `mosquitto_ctrl dynsec init`. */
  readonly admin: Credentials;
  /** The restricted user from the options. */
  readonly restricted: Credentials;
  /**
   * A user allowed to publish and subscribe everywhere. `pub`, `sub` and `subscribe` use it unless
   * the options name another user, because this broker accepts no anonymous clients.
   */
  readonly tester: Credentials;
  /** Runs `mosquitto_ctrl dynsec ARGS` as the administrator against this broker and throws on a non-zero exit. */
  dynsec(args: readonly string[]): Promise<CliResult>;
}

/** Returns the path of the dynamic-security plugin, or undefined when it is not installed. */
export function dynsecPluginPath(): string | undefined {
  return PLUGIN_CANDIDATES.find((path) => existsSync(path));
}

/**
 * Returns one line per missing prerequisite of `startMosquittoWithDynsec`: the plugin and
 * mosquitto_ctrl, both from Debian's mosquitto 2.x packages.
 */
export function missingDynsecPrerequisites(): string[] {
  const missing: string[] = [];
  if (!dynsecPluginPath()) missing.push(`mosquitto_dynamic_security.so not found in ${PLUGIN_CANDIDATES.join(", ")}: install the Debian package mosquitto 2.x`);
  if (!Bun.which("mosquitto_ctrl")) missing.push("mosquitto_ctrl not found: install the Debian package mosquitto-clients 2.x");
  return missing;
}

async function runCommand(args: readonly string[]): Promise<CliResult> {
  const child = Bun.spawn([...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const killer = setTimeout(() => child.kill("SIGKILL"), CTRL_TIMEOUT_MS);
  const [exitCode, stdout, stderr] = await Promise.all([child.exited, new Response(child.stdout).text(), new Response(child.stderr).text()]);
  clearTimeout(killer);
  return { exitCode, stdout, stderr };
}

function failed(command: readonly string[], result: CliResult): Error {
  return new Error(`${command.join(" ")} failed with exit code ${result.exitCode}: ${(result.stdout + result.stderr).trim()}`);
}

function newPassword(): string {
  return randomBytes(12).toString("hex");
}

/**
 * Starts mosquitto with the dynamic-security plugin and a restricted user whose role denies the
 * given subscriptions, so tests get real SUBACK failure codes: 0x80 over MQTT 3.1.1 and 0x87
 * (not authorized) over MQTT 5, as mosquitto 2.0.11 sends them. Anonymous clients are rejected.
 *
 * The JSON file is created offline with `mosquitto_ctrl dynsec init`, which only writes an
 * administrator. The users, roles and ACLs are then added with `mosquitto_ctrl` connected to
 * the broker on 127.0.0.1, because mosquitto_ctrl has no offline mode for them.
 */
export async function startMosquittoWithDynsec(options: StartMosquittoWithDynsecOptions): Promise<MosquittoDynsecHandle> {
  const missing = missingDynsecPrerequisites();
  if (missing.length > 0) throw new Error(`cannot start mosquitto with dynamic security:\n  ${missing.join("\n  ")}`);
  const plugin = dynsecPluginPath()!;

  const dir = await makeTempDir("ven-dynsec-");
  const dynsecConfigPath = join(dir, "dynamic-security.json");
  const admin: Credentials = { username: ADMIN_USERNAME, password: newPassword() };
  const tester: Credentials = { username: TESTER_USERNAME, password: newPassword() };
  const restricted: Credentials = { username: options.username, password: options.password };

  const initCommand = ["mosquitto_ctrl", "dynsec", "init", dynsecConfigPath, admin.username, admin.password];
  const init = await runCommand(initCommand);
  if (init.exitCode !== 0 || !existsSync(dynsecConfigPath)) {
    await removeTempDir(dir);
    throw failed(initCommand, init);
  }

  const { deniedSubscriptions, username: _username, password: _password, clientId, extraConfig, ...mosquittoOptions } = options;
  let broker: MosquittoHandle;
  try {
    broker = await startMosquitto({
      ...mosquittoOptions,
      // Later lines win in mosquitto.conf, so this overrides the `allow_anonymous true` of the base config.
      extraConfig: [`plugin ${plugin}`, `plugin_opt_config_file ${dynsecConfigPath}`, "allow_anonymous false", ...(extraConfig ?? [])],
    });
  } catch (error) {
    await removeTempDir(dir);
    throw error;
  }

  const dynsec = async (args: readonly string[]): Promise<CliResult> => {
    const command = ["mosquitto_ctrl", "-h", HOST, "-p", String(broker.port), "-u", admin.username, "-P", admin.password, ...tlsArgs(options), "dynsec", ...args];
    const result = await runCommand(command);
    if (result.exitCode !== 0) throw failed(command.map((arg) => (arg === admin.password ? "***" : arg)), result);
    return result;
  };

  try {
    await dynsec(["createClient", restricted.username, "-p", restricted.password, ...(clientId === undefined ? [] : ["-c", clientId])]);
    await dynsec(["createRole", RESTRICTED_ROLE]);
    await dynsec(["addRoleACL", RESTRICTED_ROLE, "publishClientSend", "#", "allow", "1"]);
    await dynsec(["addRoleACL", RESTRICTED_ROLE, "subscribePattern", "#", "allow", "1"]);
    for (const filter of deniedSubscriptions) {
      // Higher priorities are evaluated first, so these deny entries win over the allow above.
      await dynsec(["addRoleACL", RESTRICTED_ROLE, "subscribePattern", filter, "deny", "10"]);
      await dynsec(["addRoleACL", RESTRICTED_ROLE, "subscribeLiteral", filter, "deny", "10"]);
    }
    await dynsec(["addClientRole", restricted.username, RESTRICTED_ROLE]);

    await dynsec(["createClient", tester.username, "-p", tester.password]);
    await dynsec(["createRole", TESTER_ROLE]);
    await dynsec(["addRoleACL", TESTER_ROLE, "publishClientSend", "#", "allow", "1"]);
    await dynsec(["addRoleACL", TESTER_ROLE, "subscribePattern", "#", "allow", "1"]);
    await dynsec(["addClientRole", tester.username, TESTER_ROLE]);
  } catch (error) {
    await broker.dispose();
    await removeTempDir(dir);
    throw error;
  }

  const withTester = <T extends CliClientOptions>(opts: T): T => (opts.username === undefined ? { ...opts, ...tester } : opts);

  return {
    get host() {
      return broker.host;
    },
    get port() {
      return broker.port;
    },
    get url() {
      return broker.url;
    },
    logPath: broker.logPath,
    configPath: broker.configPath,
    dir: broker.dir,
    get pid() {
      return broker.pid;
    },
    readLog: () => broker.readLog(),
    stop: () => broker.stop(),
    restart: () => broker.restart(),
    freeze: () => broker.freeze(),
    thaw: () => broker.thaw(),
    pub: (topic, message, opts = {}) => broker.pub(topic, message, withTester(opts)),
    sub: (topic, opts) => broker.sub(topic, withTester(opts)),
    subscribe: (topic, opts) => broker.subscribe(topic, withTester(opts)),
    async dispose() {
      await broker.dispose();
      await removeTempDir(dir);
    },
    dynsecConfigPath,
    admin,
    restricted,
    tester,
    dynsec,
  };
}

/** TLS arguments for mosquitto_ctrl when the broker serves TLS, with the PKI's client certificate. */
function tlsArgs(options: StartMosquittoWithDynsecOptions): string[] {
  const pki = options.tls;
  if (!pki) return [];
  return ["--cafile", pki.files.caCert, "--cert", pki.files.clientCert, "--key", pki.files.clientKey];
}
