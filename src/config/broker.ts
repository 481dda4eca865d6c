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
  /**
   * True for `--broker auto`: the host is a placeholder until `discoverBroker` replaces it with the
   * account's AWS IoT data endpoint.
   */
  discover?: boolean;
}

export const EMBEDDED_HOST = "127.0.0.1";
export const EMBEDDED_PORT = 1883;
export const DEFAULT_TLS_PORT = 8883;
export const DEFAULT_PLAIN_PORT = 1883;
/** AWS IoT Core serves MQTT over WebSocket, and MQTT over TLS with ALPN, on 443. */
export const HTTPS_PORT = 443;
/** The `--broker` value that asks AWS IoT for the account's endpoint. */
export const AUTO_BROKER = "auto";

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
 * The target for `--broker auto` before discovery: TLS on `port`, with a placeholder host that
 * `discoverBroker` replaces before any connection.
 */
export function autoBroker(port: number): BrokerTarget {
  return { url: `mqtts://${AUTO_BROKER}:${port}`, protocol: "mqtts", host: AUTO_BROKER, port, embedded: false, aws: true, discover: true };
}

/** Returns the broker for `host`, found by discovery, in place of the `auto` placeholder. */
export function withDiscoveredHost(broker: BrokerTarget, host: string): BrokerTarget {
  return { ...broker, url: `${broker.protocol}://${host}:${broker.port}`, host, aws: isAwsIotHost(host), discover: false };
}

/**
 * Parses a broker given as a URL (`mqtts://host:8883`, `mqtt://host:1883`) or as a bare host name
 * with an optional port, which means mqtts on 8883 (or `defaultTlsPort`), the way AWS IoT endpoints
 * are usually given. Returns a message describing the problem instead of throwing.
 */
export function parseBroker(text: string, options: { defaultTlsPort?: number } = {}): BrokerTarget | { problem: string } {
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
  let port = protocol === "mqtts" ? (options.defaultTlsPort ?? DEFAULT_TLS_PORT) : DEFAULT_PLAIN_PORT;
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

/** Returns the region named in an AWS IoT endpoint such as `abc-ats.iot.eu-west-1.amazonaws.com`. */
export function regionFromIotHost(host: string): string | undefined {
  return /\.iot\.([a-z]{2}(?:-[a-z]+)+-\d+)\.amazonaws\.com(?:\.cn)?$/i.exec(host)?.[1]?.toLowerCase();
}

/** The broker as a sigv4 connection reaches it: MQTT over WebSocket at `wss://host:port/mqtt`. */
export function asWebSocketTarget(broker: BrokerTarget): BrokerTarget {
  const hostForUrl = broker.host.includes(":") ? `[${broker.host}]` : broker.host;
  return { ...broker, url: `wss://${hostForUrl}:${broker.port}/mqtt` };
}
