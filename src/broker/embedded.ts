import { Aedes } from "aedes";
import { createServer, type AddressInfo, type Server } from "node:net";
import { VenError, ExitCode } from "../errors.ts";
import type { Logger } from "../logger.ts";

export interface EmbeddedBroker {
  host: string;
  port: number;
  close(): Promise<void>;
}

/**
 * Starts the embedded MQTT broker (aedes, MQTT 3.1.1 only) on a loopback address, for running
 * `ven run` with no broker configured. It keeps retained messages and sessions in memory only.
 */
export async function startEmbeddedBroker(host: string, port: number, log: Logger): Promise<EmbeddedBroker> {
  // aedes limits client IDs to 23 characters by default (the MQTT 3.1 rule); AWS IoT Core allows 128.
  const broker = await Aedes.createBroker({ maxClientsIdLength: 128 });
  broker.on("clientError", (client, error) => log.debug(`Client ${client?.id ?? "?"}: ${error.message}`));
  broker.on("connectionError", (_client, error) => log.debug(`Connection error: ${error.message}`));

  const server: Server = createServer(broker.handle);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE") {
      throw new VenError(
        ExitCode.failed,
        `Cannot start the embedded broker: ${host}:${port} is already in use (another broker, or another ven run). Fix: to use the broker already there, pass --broker mqtt://${host}:${port} (or set VEN_BROKER); otherwise stop whatever holds the port.`,
      );
    }
    throw new VenError(ExitCode.failed, `Cannot start the embedded broker on ${host}:${port}: ${(error as Error).message}`);
  }
  server.on("error", (error) => log.error(`Embedded broker: ${error.message}`));

  const address = server.address() as AddressInfo;
  return {
    host,
    port: address.port,
    close: async () => {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
