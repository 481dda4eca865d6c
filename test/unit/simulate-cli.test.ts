import { describe, expect, test } from "bun:test";
import { runCli } from "../helpers/cli.ts";

describe("ven simulate flags", () => {
  test.each([
    [["--duration", "5s"], "--count is required"],
    [["--count", "0"], "--count must be a whole number from 1 to 1000000"],
    [["--count", "ten"], '--count must be a whole number from 1 to 1000000; got "ten"'],
    [["--count", "5", "--id-offset", "-1"], "--id-offset must be a whole number"],
    [["--count", "5", "--id-prefix", "a b"], "--id-prefix must be 1 or more characters"],
    [["--count", "5", "--duration", "5x"], '--duration must be a positive duration in seconds or with a unit (ms, s, m, h); got "5x"'],
    [["--count", "5", "--duration", "0"], "--duration must be a positive duration"],
    [["--count", "5", "--connect-rate", "0"], "--connect-rate must be a number of connects per second above 0"],
    [["--count", "5", "--connect-rate", "fast"], '--connect-rate must be a number of connects per second above 0 and at most 100000; got "fast"'],
    [["--count", "5", "--interval", "1500ms"], '--interval must be whole seconds; got "1500ms"'],
    [["--count", "5", "--interval", "2h"], "Invalid --interval"],
    [["--count", "5", "--output", "xml"], "Invalid --output"],
    [["--count", "5", "--cont-rate", "5"], "unknown option --cont-rate for ven simulate"],
  ])("%p is a usage error", async (argv, message) => {
    const result = await runCli(["simulate", ...argv]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(result.stdout).toBe("");
  });

  test("missing certificate folder is named", async () => {
    const result = await runCli(["simulate", "--count", "2", "--broker", "mqtts://127.0.0.1:8883", "--certs-dir", "fleet-certs"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("fleet-certs: folder not found");
  });

  test("help names the in-memory state", async () => {
    const result = await runCli(["simulate", "--help"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("in memory");
    expect(result.stdout).toContain("--certs-dir");
    expect(result.stdout).toContain("--connect-rate");
    expect(result.stdout).toContain("no state directory is used");
  });
});
