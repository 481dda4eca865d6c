import { renderUsage, runCommand, type CommandDef } from "citty";
import { ExitCode, VenError, type ExitCodeValue } from "../errors.ts";
import { suggest } from "../text.ts";
import { VERSION } from "../version.ts";
import { parseStrict } from "./args.ts";
import { certsCheckCommand, certsCommand, certsFetchCommand } from "./commands/certs.ts";
import { configCommand } from "./commands/config.ts";
import { doctorCommand } from "./commands/doctor.ts";
import { LISTEN_REPEATABLE, listenCommand } from "./commands/listen.ts";
import { runCommandDef } from "./commands/run.ts";
import { SEND_POSITIONALS, sendCommandDef } from "./commands/send.ts";
import { simulateCommand } from "./commands/simulate.ts";
import { statusCommand } from "./commands/status.ts";
import type { CommandData } from "./context.ts";
import type { CliIo } from "./io.ts";

interface CommandEntry {
  def: CommandDef<any>;
  repeatable?: readonly string[];
  /** Names of the positional arguments the command takes, in order. */
  positionals?: readonly string[];
  /** A command group such as `ven certs`: the next argument names the command to run. */
  subCommands?: Record<string, CommandEntry>;
}

const COMMANDS: Record<string, CommandEntry> = {
  run: { def: runCommandDef },
  listen: { def: listenCommand, repeatable: LISTEN_REPEATABLE },
  config: { def: configCommand },
  send: { def: sendCommandDef, positionals: SEND_POSITIONALS },
  simulate: { def: simulateCommand },
  status: { def: statusCommand },
  certs: { def: certsCommand, subCommands: { fetch: { def: certsFetchCommand }, check: { def: certsCheckCommand } } },
  doctor: { def: doctorCommand },
};

const ROOT: CommandDef = {
  meta: { name: "ven", version: VERSION, description: "Demand-response agent (VEN) for MQTT brokers and AWS IoT Core" },
  subCommands: Object.fromEntries(Object.entries(COMMANDS).map(([name, entry]) => [name, entry.def])),
};

/** The root help lists each command with the first sentence of its description only. */
const ROOT_HELP: CommandDef = {
  meta: ROOT.meta,
  subCommands: Object.fromEntries(
    Object.entries(COMMANDS).map(([name, entry]) => {
      const meta = entry.def.meta as { description?: string } | undefined;
      const description = meta?.description?.split(/(?<=\.) /)[0] ?? "";
      return [name, { meta: { ...meta, description } }];
    }),
  ),
};

const EXIT_CODE_HELP = "Exit codes: 0 ok, 1 failed, 2 usage or configuration, 3 timed out, 4 broker unreachable, 5 already running.";

/** Removes colour codes and the padding citty leaves at the end of each line. */
const stripColors = (text: string) => text.replace(/\u001b\[[0-9;]*m/g, "").replace(/[ \t]+$/gm, "");

async function usage(def: CommandDef<any>, parent?: CommandDef<any>): Promise<string> {
  return `${stripColors(await renderUsage(def, parent))}\n${parent ? "" : `${EXIT_CODE_HELP}\n`}`;
}

/**
 * The single entry point: parses the command line strictly, runs one command and returns its exit
 * code. It is the only place where errors turn into exit codes; nothing below it exits the process.
 */
export async function main(argv: readonly string[], io: CliIo): Promise<ExitCodeValue> {
  try {
    const [first, ...rest] = argv;
    if (first === undefined) {
      io.stderr.write(await usage(ROOT_HELP));
      return ExitCode.usage;
    }
    if (first === "--version" || first === "-v" || first === "version") {
      io.stdout.write(`${VERSION}\n`);
      return ExitCode.ok;
    }
    if (first === "--help" || first === "-h" || first === "help") {
      io.stdout.write(await usage(ROOT_HELP));
      return ExitCode.ok;
    }

    let entry = Object.hasOwn(COMMANDS, first) ? COMMANDS[first] : undefined;
    let commandName = first;
    let commandArgs = rest;
    if (entry?.subCommands) {
      const group = entry;
      const [sub, ...subRest] = rest;
      if (sub === undefined || sub === "--help" || sub === "-h") {
        io[sub === undefined ? "stderr" : "stdout"].write(await usage(group.def, ROOT));
        return sub === undefined ? ExitCode.usage : ExitCode.ok;
      }
      entry = group.subCommands![sub];
      if (!entry) {
        const close = suggest(sub, Object.keys(group.subCommands!));
        throw new VenError(ExitCode.usage, `unknown command ${JSON.stringify(`${first} ${sub}`)}`, {
          hint: `${close ? `Did you mean: ven ${first} ${close}? ` : ""}Commands: ${Object.keys(group.subCommands!).map((name) => `${first} ${name}`).join(", ")}.`,
        });
      }
      commandName = `${first} ${sub}`;
      commandArgs = subRest;
    }
    if (!entry) {
      const close = suggest(first, Object.keys(COMMANDS));
      const what = first.startsWith("-") ? `unknown option ${first}` : `unknown command ${JSON.stringify(first)}`;
      throw new VenError(ExitCode.usage, what, {
        hint: `${close ? `Did you mean: ven ${close}? ` : ""}Commands: ${Object.keys(COMMANDS).join(", ")}. Run ven --help for details.`,
      });
    }
    if (commandArgs.includes("--help") || commandArgs.includes("-h")) {
      io.stdout.write(await usage(entry.def, ROOT));
      return ExitCode.ok;
    }

    const args = typeof entry.def.args === "function" ? await entry.def.args() : await entry.def.args;
    const flags = parseStrict(commandName, commandArgs, args ?? {}, entry.repeatable, entry.positionals);
    const data: CommandData = { io, flags };
    const { result } = await runCommand(entry.def, { rawArgs: [...commandArgs], data });
    return typeof result === "number" ? (result as ExitCodeValue) : ExitCode.ok;
  } catch (error) {
    return reportError(error, io);
  }
}

function reportError(error: unknown, io: CliIo): ExitCodeValue {
  if (error instanceof VenError) {
    io.stderr.write(`ven: ${error.message}\n`);
    if (error.hint) io.stderr.write(`${error.hint}\n`);
    return error.exitCode;
  }
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  io.stderr.write(`ven: unexpected error: ${detail}\n`);
  return ExitCode.failed;
}
