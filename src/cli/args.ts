import type { ArgsDef } from "citty";
import { UsageError } from "../errors.ts";
import { SETTINGS, type SettingKey } from "../config/settings.ts";
import { suggest } from "../text.ts";

/** Flags every command that connects takes: one per setting, plus `--config`. */
export function settingArgs(): ArgsDef {
  const args: ArgsDef = {
    config: { type: "string", description: `Config file, JSON (default: ven.config.json in the working directory; also VEN_CONFIG)`, valueHint: "FILE" },
  };
  for (const setting of SETTINGS) {
    const variables = setting.env.join(", ");
    args[setting.flag] =
      setting.kind === "boolean"
        ? { type: "boolean", description: `${setting.description} [${variables}]` }
        : { type: "string", description: `${setting.description} [${variables}]`, valueHint: valueHint(setting.key) };
  }
  return args;
}

function valueHint(key: SettingKey): string {
  if (key === "broker") return "URL";
  if (key === "ca" || key === "cert" || key === "key") return "FILE";
  if (key === "stateDir") return "DIR";
  if (key === "interval" || key === "keepalive" || key === "reconnectMinDelay" || key === "reconnectMaxDelay") return "SECONDS";
  return "VALUE";
}

export type FlagValues = Record<string, string | boolean | string[]>;

/**
 * Parses a command's arguments strictly. citty 0.2 passes unknown flags through, so every flag is
 * checked here against the command's declaration: an undeclared flag, a missing value or a stray
 * argument is a usage error, with a suggestion when a declared flag is close. Flags listed in
 * `repeatable` collect every value into an array. A command that takes positional arguments
 * names them in `positionals`, in order; each one found is stored under its name, and any
 * argument beyond them is still a usage error.
 */
export function parseStrict(
  commandName: string,
  argv: readonly string[],
  args: ArgsDef,
  repeatable: readonly string[] = [],
  positionals: readonly string[] = [],
): FlagValues {
  const values: FlagValues = {};
  const names = new Map<string, string>();
  let positionalCount = 0;
  const takePositional = (token: string): boolean => {
    const name = positionals[positionalCount];
    if (name === undefined) return false;
    values[name] = token;
    positionalCount++;
    return true;
  };
  for (const [name, def] of Object.entries(args)) {
    if (def.type === "positional") continue;
    names.set(name, name);
    let aliases: string[] = [];
    if ("alias" in def && def.alias) aliases = Array.isArray(def.alias) ? def.alias : [def.alias];
    for (const alias of aliases) names.set(alias, name);
  }

  for (let index = 0; index < argv.length; index++) {
    const token = argv[index]!;
    if (token === "--") {
      for (const rest of argv.slice(index + 1)) {
        if (!takePositional(rest)) throw new UsageError(`${tooMany(commandName, positionals)}; got ${JSON.stringify(rest)}`);
      }
      break;
    }
    if (!token.startsWith("-") || token === "-") {
      if (takePositional(token)) continue;
      if (positionals.length > 0) throw new UsageError(`${tooMany(commandName, positionals)}; got ${JSON.stringify(token)}`, { hint: `Run ven ${commandName} --help for its usage.` });
      throw new UsageError(`ven ${commandName} takes no arguments; got ${JSON.stringify(token)}`, { hint: `Run ven ${commandName} --help for its options.` });
    }

    const isLong = token.startsWith("--");
    const body = token.slice(isLong ? 2 : 1);
    const equals = body.indexOf("=");
    let name = equals >= 0 ? body.slice(0, equals) : body;
    let inline: string | undefined = equals >= 0 ? body.slice(equals + 1) : undefined;
    let negated = false;

    let canonical = names.get(name);
    if (!canonical && isLong && name.startsWith("no-") && args[name.slice(3)]?.type === "boolean") {
      negated = true;
      name = name.slice(3);
      canonical = name;
    }
    if (!canonical) {
      const close = suggest(name, [...names.keys()].filter((candidate) => candidate.length > 1));
      throw new UsageError(`unknown option ${token.split("=")[0]} for ven ${commandName}`, {
        hint: close ? `Did you mean --${close}? Run ven ${commandName} --help for all options.` : `Run ven ${commandName} --help for all options.`,
      });
    }

    const def = args[canonical]!;
    if (def.type === "boolean") {
      if (inline !== undefined) {
        if (!/^(true|false)$/i.test(inline)) throw new UsageError(`--${canonical} is a switch; use --${canonical} or --no-${canonical}, not ${JSON.stringify(token)}`);
        values[canonical] = inline.toLowerCase() === "true" ? !negated : negated;
      } else {
        values[canonical] = !negated;
      }
      continue;
    }

    if (inline === undefined) {
      const next = argv[index + 1];
      if (next === undefined || (next.startsWith("--") && next.length > 2)) {
        throw new UsageError(`--${canonical} needs a value`, { hint: def.description ? `--${canonical}: ${def.description}` : undefined });
      }
      inline = next;
      index++;
    }
    if (repeatable.includes(canonical)) {
      const previous = values[canonical];
      values[canonical] = [...(Array.isArray(previous) ? previous : []), inline];
    } else {
      if (values[canonical] !== undefined && values[canonical] !== inline) {
        throw new UsageError(`--${canonical} is given twice with different values (${JSON.stringify(values[canonical])} and ${JSON.stringify(inline)})`);
      }
      values[canonical] = inline;
    }
  }
  return values;
}

function tooMany(commandName: string, positionals: readonly string[]): string {
  if (positionals.length === 0) return `ven ${commandName} takes no arguments`;
  return `ven ${commandName} takes ${positionals.length === 1 ? "one argument" : `${positionals.length} arguments`} (${positionals.map((name) => `<${name}>`).join(" ")}) and no more`;
}

/** Picks the values of setting flags, keyed by setting, for the configuration resolver. */
export function settingFlags(values: FlagValues): Partial<Record<SettingKey, string | boolean>> {
  const flags: Partial<Record<SettingKey, string | boolean>> = {};
  for (const setting of SETTINGS) {
    const value = values[setting.flag];
    if (typeof value === "string" || typeof value === "boolean") flags[setting.key] = value;
  }
  return flags;
}
