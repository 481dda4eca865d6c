import { join } from "node:path";

/**
 * Derives a venId from the host name, cleaned to the characters AWS IoT Core allows in a thing
 * name (A-Z a-z 0-9 : _ -). It never depends on the clock, so it stays the same across restarts.
 */
export function venIdFromHostname(hostname: string): string {
  const cleaned = hostname
    .split(".")[0]!
    .replace(/[^A-Za-z0-9:_-]+/g, "-")
    .replace(/-{2,}/g, "-")
    .replace(/^-+|-+$/g, "");
  const base = cleaned.length > 0 ? cleaned : "host";
  return `ven-${base}`.slice(0, 128);
}

/** `$XDG_STATE_HOME/ven/<venId>`, or `~/.local/state/ven/<venId>` when XDG_STATE_HOME is unset. */
export function defaultStateDir(venId: string, env: Record<string, string | undefined>, homeDir: string): string {
  const xdg = env.XDG_STATE_HOME?.trim();
  const base = xdg && xdg.startsWith("/") ? xdg : join(homeDir, ".local", "state");
  return join(base, "ven", venId);
}
