import { describe, expect, test } from "bun:test";
import {
  DEFAULT_TOPICS,
  expandTopic,
  expandTopics,
  subscriptionFilter,
  telemetryTopics,
  topicTemplateProblem,
} from "../../src/protocol/topics.ts";

describe("expandTopics", () => {
  test("fills every default", () => {
    expect(expandTopics(DEFAULT_TOPICS, "ven-7")).toEqual({
      metering: "volttron/metering",
      telemetry: "ven/telemetry/ven-7",
      command: "ven/cmd/ven-7",
      ack: "ven/ack/ven-7",
      status: "ven/status/ven-7",
    });
  });

  test("replaces every occurrence", () => {
    expect(expandTopic("{venId}/x/{venId}", "a")).toBe("a/x/a");
  });

  test("leaves fixed topics alone", () => {
    expect(expandTopic("site/metering", "a")).toBe("site/metering");
  });

  test("keeps special characters in venId", () => {
    expect(expandTopic("ven/cmd/{venId}", "gw:7_a-$1")).toBe("ven/cmd/gw:7_a-$1");
  });
});

describe("telemetryTopics", () => {
  test("lists metering then telemetry", () => {
    expect(telemetryTopics(expandTopics(DEFAULT_TOPICS, "v"))).toEqual(["volttron/metering", "ven/telemetry/v"]);
  });

  test("drops duplicates", () => {
    const topics = expandTopics({ ...DEFAULT_TOPICS, telemetry: "volttron/metering" }, "v");
    expect(telemetryTopics(topics)).toEqual(["volttron/metering"]);
  });

  test("drops empty topics", () => {
    const topics = expandTopics({ ...DEFAULT_TOPICS, telemetry: "" }, "v");
    expect(telemetryTopics(topics)).toEqual(["volttron/metering"]);
  });
});

describe("topicTemplateProblem", () => {
  test.each(Object.entries(DEFAULT_TOPICS))("accepts default %s", (_name, template) => {
    expect(topicTemplateProblem(template)).toBeUndefined();
  });

  test("accepts seven slashes", () => {
    expect(topicTemplateProblem("a/b/c/d/e/f/g/{venId}")).toBeUndefined();
  });

  test.each([
    ["empty", "", /empty/],
    ["plus wildcard", "ven/+/cmd", /wildcard/],
    ["hash wildcard", "ven/cmd/#", /wildcard/],
    ["dollar prefix", "$aws/things/{venId}", /reserved/],
    ["NUL character", "ven/\u0000/cmd", /NUL/],
    ["eight slashes", "a/b/c/d/e/f/g/h/{venId}", /8 slashes/],
  ])("rejects %s", (_name, template, problem) => {
    expect(topicTemplateProblem(template)).toMatch(problem);
  });
});

describe("subscriptionFilter", () => {
  test("one VEN", () => {
    expect(subscriptionFilter(DEFAULT_TOPICS.ack, "ven-7")).toBe("ven/ack/ven-7");
  });

  test("every VEN", () => {
    expect(subscriptionFilter(DEFAULT_TOPICS.ack, "+")).toBe("ven/ack/+");
  });
});
