import { describe, expect, test } from "bun:test";
import { embeddedBroker, parseBroker, type BrokerTarget } from "../../src/config/broker.ts";
import { unreachableHint } from "../../src/transport/hints.ts";

const broker = parseBroker("mqtts://broker.test:8883") as BrokerTarget;

describe("unreachableHint", () => {
  test.each([
    ["connect ECONNREFUSED 127.0.0.1:8883 (ECONNREFUSED)", "Nothing accepts connections on broker.test:8883"],
    ["getaddrinfo ENOTFOUND broker.test", "does not resolve"],
    ["self signed certificate in certificate chain (SELF_SIGNED_CERT_IN_CHAIN)", "--ca"],
    ["Hostname/IP does not match certificate's altnames", "--ca"],
    ["broker refused the connection: 0x87 not authorized", "rejected this client"],
    ["connack timeout", "did not answer in time"],
    ["something else", "ven doctor"],
  ])("%s", (cause, expected) => {
    expect(unreachableHint(cause, broker, "listen")).toContain(expected);
  });

  test("embedded broker names ven run", () => {
    expect(unreachableHint("connect ECONNREFUSED", embeddedBroker(), "send")).toContain("ven send looks for the embedded broker");
  });
});
