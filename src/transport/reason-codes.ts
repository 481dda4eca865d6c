/**
 * Names of MQTT reason codes, so that logs show what a broker meant. MQTT 3.1.1 CONNACK return codes
 * (section 3.2.2.3) and MQTT 5 reason codes (section 2.4).
 */
const CONNACK_V311: Record<number, string> = {
  1: "unacceptable protocol version",
  2: "identifier rejected",
  3: "server unavailable",
  4: "bad user name or password",
  5: "not authorized",
};

const REASON_V5: Record<number, string> = {
  0x00: "success",
  0x04: "disconnect with will message",
  0x10: "no matching subscribers",
  0x80: "unspecified error",
  0x81: "malformed packet",
  0x82: "protocol error",
  0x83: "implementation specific error",
  0x84: "unsupported protocol version",
  0x85: "client identifier not valid",
  0x86: "bad user name or password",
  0x87: "not authorized",
  0x88: "server unavailable",
  0x89: "server busy",
  0x8a: "banned",
  0x8b: "server shutting down",
  0x8c: "bad authentication method",
  0x8d: "keep alive timeout",
  0x8e: "session taken over",
  0x8f: "topic filter invalid",
  0x90: "topic name invalid",
  0x91: "packet identifier in use",
  0x92: "packet identifier not found",
  0x93: "receive maximum exceeded",
  0x94: "topic alias invalid",
  0x95: "packet too large",
  0x96: "message rate too high",
  0x97: "quota exceeded",
  0x98: "administrative action",
  0x99: "payload format invalid",
  0x9a: "retain not supported",
  0x9b: "QoS not supported",
  0x9c: "use another server",
  0x9d: "server moved",
  0x9e: "shared subscriptions not supported",
  0x9f: "connection rate exceeded",
  0xa0: "maximum connect time",
  0xa1: "subscription identifiers not supported",
  0xa2: "wildcard subscriptions not supported",
};

/** Formats a code with its name, e.g. `0x87 not authorized`. */
export function describeReasonCode(code: number, protocolVersion: 4 | 5, packet: "connack" | "other" = "other"): string {
  const hex = `0x${code.toString(16).padStart(2, "0")}`;
  const name = protocolVersion === 4 && packet === "connack" ? CONNACK_V311[code] : REASON_V5[code];
  return name ? `${hex} ${name}` : hex;
}

/** Tells whether a SUBACK or PUBACK code means the broker rejected the request: 0x80 or above (MQTT 5 section 2.4). */
export function isFailureCode(code: number): boolean {
  return code >= 0x80;
}

/** True when a CONNACK refusal means the broker does not speak the requested MQTT version. */
export function isUnsupportedVersion(code: number, protocolVersion: 4 | 5): boolean {
  // A 3.1.1-only broker responds to an MQTT 5 CONNECT with the 3.1.1 return code 1.
  return protocolVersion === 5 ? code === 0x84 || code === 1 : code === 1;
}
