import { closeClient, connackName, connectOnce } from "./mqtt-client.ts";
import { failed, passed, type DoctorContext, type StepResult } from "../types.ts";

/** Returns the next step after a CONNACK that rejected the connection. */
function connackHint(code: number, version: 4 | 5, context: DoctorContext): string {
  const notAuthorized = version === 5 ? code === 0x87 || code === 0x86 : code === 5 || code === 4;
  if (notAuthorized) {
    return context.config.broker.aws
      ? `AWS IoT Core rejected the identity: check that the certificate is ACTIVE, attached to the thing ${context.config.venId}, and that the thing's policy allows iot:Connect for client/${context.clientId}.`
      : `The broker rejected the identity of client ${context.clientId}: check its ACL, user name and password, or the certificate it maps to a user.`;
  }
  if ((version === 5 && code === 0x85) || (version === 4 && code === 2)) return `The broker rejected the client ID ${context.clientId}: check its allowed characters and length.`;
  return "Check the broker's log for the reason it gave.";
}

/** Connects with the VEN's own client ID and reads the CONNACK. The connection stays open for the next steps. */
export async function checkConnect(context: DoctorContext): Promise<StepResult> {
  const outcome = await connectOnce(context, context.clientId);
  if ("refused" in outcome) {
    return failed("connect", `Broker rejected CONNECT as ${context.clientId}: CONNACK ${connackName(outcome.refused, outcome.version)}`, connackHint(outcome.refused, outcome.version, context));
  }
  if ("error" in outcome) {
    return failed("connect", `No CONNACK as ${context.clientId}: ${outcome.error.message}`, "The broker closed the connection after the handshake: on AWS IoT Core this usually means the policy denies iot:Connect for this client ID.");
  }
  closeClient(context.client);
  context.client = outcome.client;
  return passed("connect", `Connected as ${context.clientId} with MQTT ${outcome.version === 5 ? "5" : "3.1.1"}`);
}
