import { afterEach, describe, expect, test } from "bun:test";
import mqtt from "mqtt";
import { createServer, type AddressInfo, type Server } from "node:net";
import { startEmbeddedBroker, type EmbeddedBroker } from "../../src/broker/embedded.ts";
import { ExitCode, VenError } from "../../src/errors.ts";
import { createLogger } from "../../src/logger.ts";
import { operatorClientId } from "../../src/listen/listener.ts";

const log = createLogger({ level: "silent", format: "pretty", sink: { write: () => undefined } });
let blocker: Server | undefined;
let embedded: EmbeddedBroker | undefined;

afterEach(async () => {
  await embedded?.close();
  embedded = undefined;
  await new Promise<void>((resolve) => (blocker ? blocker.close(() => resolve()) : resolve()));
  blocker = undefined;
});

describe("embedded broker", () => {
  test("accepts long client IDs", async () => {
    embedded = await startEmbeddedBroker("127.0.0.1", 0, log);
    const clientId = `ven-${"x".repeat(100)}`;
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${embedded.port}`, { clientId, protocolVersion: 4, reconnectPeriod: 0 });
    expect(client.connected).toBe(true);
    await client.endAsync();
  });

  test("taken port names the broker setting", async () => {
    blocker = createServer();
    await new Promise<void>((resolve) => blocker!.listen(0, "127.0.0.1", resolve));
    const port = (blocker.address() as AddressInfo).port;
    const error = await startEmbeddedBroker("127.0.0.1", port, log).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(VenError);
    expect((error as VenError).exitCode).toBe(ExitCode.failed);
    expect((error as VenError).message).toContain(`127.0.0.1:${port} is already in use`);
    expect((error as VenError).message).toContain("--broker");
  });
});

describe("operator client ID", () => {
  test.each(["ven-home-042", "+"])("never equals a VEN id (%s)", (venId) => {
    const clientId = operatorClientId(venId, "listen");
    expect(clientId).not.toBe(venId);
    expect(clientId).toMatch(/-listen-[0-9a-f]{8}$/);
  });

  test("fleet prefix for all VENs", () => {
    expect(operatorClientId("+", "listen").startsWith("fleet-listen-")).toBe(true);
  });
});
