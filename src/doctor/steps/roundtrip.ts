import { randomBytes } from "node:crypto";
import { failed, passed, withTimeout, type DoctorContext, type StepResult } from "../types.ts";

/** The probe topic `ven/doctor/{venId}`, which the device policy must allow. */
export function doctorTopic(context: DoctorContext): string {
  return `ven/doctor/${context.config.venId}`;
}

/** Publishes a probe with QoS 1 to the doctor topic and waits for it to come back. */
export async function checkRoundTrip(context: DoctorContext): Promise<StepResult> {
  const client = context.client!;
  const topic = doctorTopic(context);
  const nonce = randomBytes(8).toString("hex");
  const started = context.clock.now();
  try {
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        client.on("message", (received, payload) => {
          if (received === topic && payload.toString("utf8").includes(nonce)) resolve();
        });
        client.publish(topic, JSON.stringify({ probe: nonce, venId: context.config.venId }), { qos: 1 }, (error) => {
          if (error) reject(error);
        });
      }),
      context.timeoutMs,
      `Round trip on ${topic}`,
    );
  } catch (error) {
    return failed(
      "roundtrip",
      `The probe on ${topic} did not come back: ${(error as Error).message}`,
      `Allow iot:Publish and iot:Receive on topic/${topic} (AWS IoT Core) or the broker's ACL for this client.`,
    );
  }
  return passed("roundtrip", `Probe on ${topic} came back in ${context.clock.now() - started} ms`);
}
