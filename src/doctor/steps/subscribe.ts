import { isFailureCode, describeReasonCode } from "../../transport/reason-codes.ts";
import { failed, passed, withTimeout, type DoctorContext, type StepResult } from "../types.ts";
import { doctorTopic } from "./roundtrip.ts";

/** Subscribes to the command topic and the doctor topic and checks each grant in the SUBACK. */
export async function checkSubscribe(context: DoctorContext): Promise<StepResult> {
  const client = context.client!;
  const command = context.config.topics.command.split("{venId}").join(context.config.venId);
  const topics = [command, doctorTopic(context)];
  let granted: { topic: string; qos: number }[];
  try {
    granted = await withTimeout(
      new Promise((resolve, reject) => {
        client.subscribe(topics, { qos: 1 }, (error, grants) => {
          // MQTT.js 5 reports a rejected grant as an error that carries the SUBACK packet.
          const codes = (error as { packet?: { granted?: number[] } } | undefined)?.packet?.granted;
          if (codes) resolve(topics.map((topic, index) => ({ topic, qos: codes[index] ?? 0x80 })));
          else if (error) reject(error);
          else resolve((grants ?? []).map((grant) => ({ topic: grant.topic, qos: grant.qos })));
        });
      }),
      context.timeoutMs,
      "SUBSCRIBE",
    );
  } catch (error) {
    return failed("subscribe", `SUBSCRIBE failed: ${(error as Error).message}`, "The broker closed the connection on SUBSCRIBE: on AWS IoT Core the policy must allow iot:Subscribe on these topic filters.");
  }
  const rejected = granted.filter((grant) => isFailureCode(grant.qos));
  if (rejected.length > 0) {
    const list = rejected.map((grant) => `${grant.topic} (${describeReasonCode(grant.qos, 5)})`).join(", ");
    const hint = context.config.broker.aws
      ? `Allow iot:Subscribe on topicfilter/${rejected[0]!.topic} and iot:Receive on topic/${rejected[0]!.topic} in the policy of this identity.`
      : `Allow client ${context.clientId} to subscribe to ${rejected.map((grant) => grant.topic).join(" and ")} in the broker's ACL.`;
    return failed("subscribe", `Broker rejected the subscription to ${list}`, hint);
  }
  return passed("subscribe", granted.map((grant) => `${grant.topic} granted QoS ${grant.qos}`).join(", "));
}
