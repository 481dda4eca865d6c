import { asWebSocketTarget, regionFromIotHost, withDiscoveredHost } from "../config/broker.ts";
import type { VenConfig } from "../config/resolve.ts";
import { ConfigError } from "../errors.ts";
import type { Logger } from "../logger.ts";

/**
 * Replaces the `--broker auto` placeholder with the account's AWS IoT data endpoint, found with
 * DescribeEndpoint. Any other configuration comes back unchanged, and the AWS SDK is then not loaded.
 */
export async function discoverBroker(config: VenConfig, log: Logger): Promise<VenConfig> {
  if (!config.broker.discover) return config;
  const { describeDataEndpoint } = await import("./endpoint.ts");
  const host = await describeDataEndpoint(config.region);
  const discovered = withDiscoveredHost(config.broker, host);
  const broker = config.auth === "sigv4" ? asWebSocketTarget(discovered) : discovered;
  const region = config.region ?? regionFromIotHost(host);
  log.withTag("aws").info(`AWS IoT endpoint for --broker auto: ${host}`);
  if (config.auth === "sigv4" && !region) {
    throw new ConfigError(`--auth sigv4 needs the AWS region, and the endpoint ${host} does not name one. Fix: pass --region eu-west-1, or set AWS_REGION.`);
  }
  return { ...config, broker, region };
}
