/**
 * Topic templates. Every topic may contain `{venId}`, replaced by the VEN's id. AWS IoT Core
 * allows at most 7 slashes in a topic name, so a template that breaks that is rejected early.
 */
export const VEN_ID_PLACEHOLDER = "{venId}";
export const MAX_TOPIC_SLASHES = 7;

export interface TopicTemplates {
  /** Shared telemetry topic the backend stores. */
  metering: string;
  /** Per-VEN telemetry copy for monitoring. */
  telemetry: string;
  command: string;
  ack: string;
  status: string;
}

export const DEFAULT_TOPICS: TopicTemplates = {
  metering: "volttron/metering",
  telemetry: "ven/telemetry/{venId}",
  command: "ven/cmd/{venId}",
  ack: "ven/ack/{venId}",
  status: "ven/status/{venId}",
};

export type Topics = TopicTemplates;

/** Replaces `{venId}` in every template. */
export function expandTopics(templates: TopicTemplates, venId: string): Topics {
  return {
    metering: expandTopic(templates.metering, venId),
    telemetry: expandTopic(templates.telemetry, venId),
    command: expandTopic(templates.command, venId),
    ack: expandTopic(templates.ack, venId),
    status: expandTopic(templates.status, venId),
  };
}

export function expandTopic(template: string, venId: string): string {
  return template.split(VEN_ID_PLACEHOLDER).join(venId);
}

/** Telemetry topics without duplicates, in the order they are published. */
export function telemetryTopics(topics: Topics): string[] {
  return [...new Set([topics.metering, topics.telemetry].filter((topic) => topic.length > 0))];
}

/**
 * Returns why a topic template cannot be published to, or undefined when it can. Wildcards are
 * for subscriptions only, and topics with a leading `$` are reserved for the broker.
 */
export function topicTemplateProblem(template: string): string | undefined {
  if (template.length === 0) return "it is empty";
  if (/[+#]/.test(template)) return "it contains a wildcard (+ or #), which only subscriptions may use";
  if (template.startsWith("$")) return "topics starting with $ are reserved for the broker";
  if (template.includes("\u0000")) return "it contains a NUL character";
  const slashes = expandTopic(template, "x").split("/").length - 1;
  if (slashes > MAX_TOPIC_SLASHES) return `it has ${slashes} slashes; AWS IoT Core allows at most ${MAX_TOPIC_SLASHES}`;
  return undefined;
}

/**
 * Turns a template into a subscription filter for one VEN or, with `+`, for all of them.
 */
export function subscriptionFilter(template: string, venId: string | "+"): string {
  return expandTopic(template, venId);
}
