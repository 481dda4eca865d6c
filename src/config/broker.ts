/** Broker address parsed from `--broker`, or the embedded broker when none is set. */
export interface BrokerTarget {
  url: string;
  protocol: "mqtt" | "mqtts";
  host: string;
  port: number;
  /** True when no broker is configured and `ven run` starts its own on 127.0.0.1. */
  embedded: boolean;
  /** True for AWS IoT Core endpoints, which have stricter limits (keep-alive 30 to 1200 s). */
  aws: boolean;
}

export const EMBEDDED_HOST = "127.0.0.1";
export const EMBEDDED_PORT = 1883;
export const DEFAULT_TLS_PORT = 8883;
export const DEFAULT_PLAIN_PORT = 1883;

export function embeddedBroker(): BrokerTarget {
  return {
    url: `mqtt://${EMBEDDED_HOST}:${EMBEDDED_PORT}`,
    protocol: "mqtt",
    host: EMBEDDED_HOST,
    port: EMBEDDED_PORT,
    embedded: true,
    aws: false,
  };
}

export function isAwsIotHost(host: string): boolean {
  return /\.amazonaws\.com(\.cn)?$/i.test(host);
}

/**
 * Parses a broker given as a URL (`mqtts://host:8883`, `mqtt://host:1883`) or as a bare host name
 * with an optional port, which means mqtts on 8883, the way AWS IoT endpoints are usually given.
 * Returns a message describing the problem instead of throwing.
 */
export function parseBroker(text: string): BrokerTarget | { problem: string } {
  const trimmed = text.trim();
  const hasScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed);
  let url: URL;
  try {
    url = new URL(hasScheme ? trimmed : `mqtts://${trimmed}`);
  } catch {
    return { problem: "it is not a valid URL or host name" };
  }

  const scheme = url.protocol.replace(/:$/, "").toLowerCase();
  if (scheme !== "mqtt" && scheme !== "mqtts") {
    return { problem: `the scheme ${scheme}:// is not supported; use mqtts:// (TLS) or mqtt://` };
  }
  if (url.username || url.password) {
    return { problem: "credentials do not belong in the URL; use --username and VEN_PASSWORD" };
  }
  if ((url.pathname && url.pathname !== "/") || url.search || url.hash) {
    return { problem: "a broker URL has no path, query or fragment" };
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  if (!host) return { problem: "the host name is missing" };

  const protocol = scheme;
  let port = protocol === "mqtts" ? DEFAULT_TLS_PORT : DEFAULT_PLAIN_PORT;
  if (url.port) port = Number(url.port);
  if (port < 1 || port > 65535) return { problem: `port ${port} is outside 1 to 65535` };
  const hostForUrl = host.includes(":") ? `[${host}]` : host;
  return {
    url: `${protocol}://${hostForUrl}:${port}`,
    protocol,
    host,
    port,
    embedded: false,
    aws: isAwsIotHost(host),
  };
}
