import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { createServer, type Server } from "node:net";
import packageJson from "../../package.json" with { type: "json" };
import { assertPrerequisites, findRuntimeNoise, skipEndToEnd, VenInstall } from "../helpers/binary.ts";
import { freePort } from "../helpers/ports.ts";

const VEN_ID = "ven-e2e-003";

let install: VenInstall | undefined;

/** A TCP listener on 127.0.0.1 that counts connections and closes each at once. */
interface CountingListener {
  port: number;
  connections: number;
  close(): Promise<void>;
}

async function startCountingListener(): Promise<CountingListener> {
  const listener: CountingListener = { port: 0, connections: 0, close: async () => {} };
  const server: Server = createServer((socket) => {
    listener.connections += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: "127.0.0.1", port: 0 }, () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("the counting listener has no TCP port");
  listener.port = address.port;
  listener.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return listener;
}

describe.skipIf(skipEndToEnd())("ven binary alone", () => {
  let listener: CountingListener | undefined;

  beforeAll(async () => {
    assertPrerequisites();
    install = await VenInstall.create();
  });

  afterEach(async () => {
    await install?.killAll();
    await listener?.close();
    listener = undefined;
  });

  afterAll(async () => {
    await install?.dispose();
  });

  test("--help lists the commands", async () => {
    const result = await install!.run(["--help"]);

    expect(result.exitCode, `stderr:\n${result.stderr}`).toBe(0);
    for (const command of ["run", "listen", "config"]) {
      expect(result.stdout, `command ${command} listed`).toMatch(new RegExp(`^\\s+${command}\\s`, "m"));
    }
  });

  test("--version prints package version", async () => {
    const result = await install!.run(["--version"]);

    expect(result.exitCode, `stderr:\n${result.stderr}`).toBe(0);
    expect(result.stdout.trim()).toBe(packageJson.version);
  });

  test("misspelt command exits 2", async () => {
    const result = await install!.run(["lsten"]);

    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain("unknown command");
  });

  test("misspelt listen option exits 2", async () => {
    const result = await install!.run(["listen", "--tpoic", "x"]);

    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain("unknown option");
    expect(result.stderr, "the close option is suggested").toContain("--topic");
  });

  test("misspelt run option exits 2", async () => {
    const result = await install!.run(["run", "--keepalve", "30"]);

    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain("unknown option");
  });

  test("zero interval fails before connecting", async () => {
    listener = await startCountingListener();
    const broker = `mqtt://127.0.0.1:${listener.port}`;

    const result = await install!.run(["run", "--broker", broker, "--ven-id", VEN_ID, "--state-dir", install!.newStateDir(), "--interval", "0"]);

    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain("--interval");
    // Leaves the listener a moment to accept a connection the binary might have opened.
    await Bun.sleep(100);
    expect(listener.connections).toBe(0);
  });

  test("missing certificate named before connecting", async () => {
    listener = await startCountingListener();
    const broker = `mqtts://127.0.0.1:${listener.port}`;
    const args = ["run", "--broker", broker, "--ven-id", VEN_ID, "--state-dir", install!.newStateDir(), "--cert", "missing.crt", "--key", "missing.key"];

    const result = await install!.run(args);

    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain("missing.crt");
    await Bun.sleep(100);
    expect(listener.connections).toBe(0);
  });

  test("listen to closed port exits 4", async () => {
    const port = await freePort();

    const result = await install!.run(["listen", "--broker", `mqtt://127.0.0.1:${port}`, "--timeout", "5"], { timeoutMs: 15_000 });

    expect(result.exitCode, `stderr:\n${result.stderr}`).toBe(4);
    expect(result.stdout).toBe("");
  }, 20_000);

  test("stderr free of runtime noise", () => {
    const results = install!.results;
    expect(results.length).toBeGreaterThan(0);
    const noise = findRuntimeNoise(results);
    expect(noise.deprecationWarnings).toEqual([]);
    expect(noise.runtimeWarnings).toEqual([]);
    expect(noise.stackTraces).toEqual([]);
  });
});
