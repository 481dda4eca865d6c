import { connect } from "node:net";
import { failed, passed, withTimeout, type DoctorContext, type StepResult } from "../types.ts";

/** Opens a TCP connection to the first resolved address and the broker's port. */
export async function checkTcp(context: DoctorContext): Promise<StepResult> {
  const address = context.addresses[0]!;
  const { port } = context.config.broker;
  const started = context.clock.now();
  try {
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        const socket = connect({ host: address, port });
        socket.once("connect", () => {
          socket.destroy();
          resolve();
        });
        socket.once("error", (error) => {
          socket.destroy();
          reject(error);
        });
      }),
      context.timeoutMs,
      `TCP connect to ${address}:${port}`,
    );
  } catch (error) {
    const code = (error as { code?: string }).code;
    const hint =
      code === "ECONNREFUSED"
        ? `Nothing accepts connections on port ${port}: check that the broker runs and the port in --broker. AWS IoT Core takes MQTT on 8883 and 443.`
        : `Packets to port ${port} are dropped or unanswered: a firewall may block it. Networks that block 8883 usually allow 443: try --broker HOST:443.`;
    return failed("tcp", `Cannot connect to ${address}:${port}: ${(error as Error).message}`, hint);
  }
  return passed("tcp", `Connected to ${address}:${port} in ${context.clock.now() - started} ms`);
}
