import type { BrokerTarget } from "../config/broker.ts";

/**
 * Returns the next step for an operator command whose first connection failed, chosen from the
 * cause the supervisor reported.
 */
export function unreachableHint(cause: string, broker: BrokerTarget, command: string): string {
  if (broker.embedded) {
    return `No broker is configured, so ven ${command} looks for the embedded broker of a running \`ven run\` on ${broker.host}:${broker.port}. Start \`ven run\`, or pass --broker.`;
  }
  if (/ECONNREFUSED/.test(cause)) {
    return `Nothing accepts connections on ${broker.host}:${broker.port}: check that the broker runs and the port in --broker.`;
  }
  if (/ENOTFOUND|EAI_AGAIN/.test(cause)) {
    return `The host name ${broker.host} does not resolve: check --broker and the DNS settings of this machine.`;
  }
  if (/certificate|CERT_|SELF_SIGNED|UNABLE_TO_VERIFY|altnames/i.test(cause)) {
    return "The broker's certificate was not accepted: check that --ca holds the CA that signed it and that --broker names a host listed in it. ven doctor shows the details.";
  }
  if (/refused the connection/.test(cause)) {
    return "The broker rejected this client: check the client certificate or user name, and the broker's policy for this client ID.";
  }
  if (/timeout/i.test(cause)) {
    return "The broker did not answer in time: check the network path and the port (8883 is often blocked; AWS IoT Core also listens on 443).";
  }
  return "Check --broker, the certificate files, and the network path to the broker; ven doctor checks each step.";
}
