import { describe, expect, test } from "bun:test";
import { resolveConfig } from "../../src/config/resolve.ts";
import { checkConfiguration } from "../../src/doctor/steps/config.ts";
import type { DoctorContext } from "../../src/doctor/types.ts";
import { ManualClock } from "../helpers/clock.ts";

function contextFor(flags: Record<string, string>): DoctorContext {
  const { config } = resolveConfig({ flags, env: {}, cwd: "/", hostname: "h", homeDir: "/" });
  return {
    config,
    clock: new ManualClock(Date.now()),
    resolver: async () => [],
    timeoutMs: 1000,
    force: false,
    tls: {},
    addresses: [],
    clientId: config.venId,
  } as unknown as DoctorContext;
}

describe("doctor config step", () => {
  test("no broker checks the embedded one", async () => {
    const result = await checkConfiguration(contextFor({ venId: "doc-1" }));
    expect(result.ok).toBe(true);
    expect(result.detail).toContain("embedded broker of a running ven run at mqtt://127.0.0.1:1883");
  });

  test("configured broker is named", async () => {
    const result = await checkConfiguration(contextFor({ venId: "doc-1", broker: "mqtt://127.0.0.1:18830" }));
    expect(result.ok).toBe(true);
    expect(result.detail).toContain("mqtt://127.0.0.1:18830, venId doc-1");
  });
});
