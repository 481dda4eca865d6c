import * as v from "valibot";
import { operatorClientId } from "../../listen/listener.ts";
import { StatusSchema } from "../../protocol/status.ts";
import { expandTopic } from "../../protocol/topics.ts";
import { closeClient, connackName, connectOnce } from "./mqtt-client.ts";
import { failed, passed, type DoctorContext, type StepResult } from "../types.ts";

/** How long to wait for the retained status after the subscription is granted, in milliseconds. */
const RETAINED_WAIT_MS = 1000;

/**
 * Reads the VEN's retained status with an operator client ID before the doctor connects with the
 * VEN's own client ID, which would take over the session of a VEN that is online.
 */
export async function checkStatus(context: DoctorContext): Promise<StepResult> {
  const { config } = context;
  if (config.auth === "sigv4") return passed("status", "sigv4 connects with an operator client ID, so no VEN session is at stake");
  const topic = expandTopic(config.topics.status, config.venId);
  const forceHint = `Stop the VEN first (its client ID is ${config.venId}), or pass --force to connect anyway and take over its session.`;
  const outcome = await connectOnce(context, operatorClientId(config.venId, "doctor"));
  if (!("client" in outcome)) {
    const reason = "refused" in outcome ? `the broker rejected the client ID with CONNACK ${connackName(outcome.refused, outcome.version)}` : outcome.error.message;
    if (context.force) return passed("status", `Status of ${config.venId} not read (${reason}); going on because of --force`);
    return failed("status", `Cannot read the retained status on ${topic}: ${reason}`, `The doctor does not know whether ${config.venId} is online. ${forceHint}`);
  }

  const client = outcome.client;
  try {
    const status = await new Promise<unknown>((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      client.on("message", (received, payload) => {
        if (received !== topic) return;
        clearTimeout(timer);
        try {
          resolve(JSON.parse(payload.toString("utf8")));
        } catch {
          resolve(undefined);
        }
      });
      client.subscribe(topic, { qos: 1 }, () => {
        timer = setTimeout(() => resolve(undefined), Math.min(RETAINED_WAIT_MS, context.timeoutMs));
      });
    });
    const parsed = v.safeParse(StatusSchema, status);
    if (parsed.success && parsed.output.status === "online") {
      const since = new Date(parsed.output.timestamp * 1000).toISOString();
      const detail = `${config.venId} is online (instance ${parsed.output.instance}, since ${since})`;
      if (context.force) return passed("status", `${detail}; connecting anyway because of --force`);
      return failed("status", detail, `Connecting with its client ID would take over its session and disconnect it. ${forceHint}`);
    }
    return passed("status", parsed.success ? `${config.venId} is ${parsed.output.status}` : `No retained status for ${config.venId}`);
  } finally {
    closeClient(client);
  }
}
