import { isIP } from "node:net";
import { failed, passed, withTimeout, type DoctorContext, type StepResult } from "../types.ts";

/** Resolves the broker's host name with the injected resolver. */
export async function checkDns(context: DoctorContext): Promise<StepResult> {
  const { host } = context.config.broker;
  if (isIP(host)) {
    context.addresses = [host];
    return passed("dns", `${host} is an IP address`);
  }
  try {
    context.addresses = await withTimeout(context.resolver(host), context.timeoutMs, `DNS lookup of ${host}`);
  } catch (error) {
    const code = (error as { code?: string }).code;
    const reason = code === "ENOTFOUND" ? "the name does not exist" : (error as Error).message;
    return failed("dns", `Cannot resolve ${host}: ${reason}`, "Check the spelling of --broker. For AWS IoT Core, pass --broker auto or copy the name from aws iot describe-endpoint --endpoint-type iot:Data-ATS; check the DNS settings of this machine.");
  }
  if (context.addresses.length === 0) return failed("dns", `${host} resolves to no address`, "Check the DNS records of the broker's name.");
  return passed("dns", `${host} resolves to ${context.addresses.join(", ")}`);
}
