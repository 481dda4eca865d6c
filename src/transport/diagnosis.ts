import type { Logger } from "../logger.ts";

/** A connection that ends sooner than this after CONNACK counts as short-lived. */
export const SHORT_LIVED_MS = 10_000;
/** Short-lived connections in a row before a session takeover is suspected. */
export const TAKEOVER_AFTER = 3;
/** A close this soon after a SUBSCRIBE or PUBLISH is blamed on that request. */
export const POLICY_BLAME_WINDOW_MS = 1000;
/** Closes blamed on the same topic in a row before a policy denial is reported. */
export const POLICY_DENIAL_AFTER = 2;

export type Diagnosis =
  | { kind: "takeover"; message: string }
  | { kind: "policy-denial"; topic: string; operation: "subscribe" | "publish"; message: string };

/**
 * Reads a run of disconnects for their likely cause. One cause is another client with the same
 * client ID (MQTT 5 reason 0x8E, or connections that keep dropping soon after they are made). The
 * other is a broker policy that closes the connection when a topic is used, which is how AWS IoT
 * Core denies an action.
 */
export class DisconnectDiagnosis {
  private shortLived = 0;
  private blamedTopic: string | undefined;
  private blamedCount = 0;
  private lastRequest: { operation: "subscribe" | "publish"; topic: string; at: number } | undefined;

  constructor(private readonly clientId: string) {}

  noteRequest(operation: "subscribe" | "publish", topic: string, at: number): void {
    this.lastRequest = { operation, topic, at };
  }

  /** Call once per closed connection; returns what the run of disconnects points to, if anything. */
  onClose(close: { at: number; connectedAt: number | undefined; reasonCode: number | undefined }): Diagnosis[] {
    const found: Diagnosis[] = [];
    if (close.reasonCode === 0x8e) {
      found.push({
        kind: "takeover",
        message: `The broker closed the session because another client connected with client ID ${this.clientId} (MQTT 5 reason 0x8E session taken over). Make sure only one process uses this venId.`,
      });
    }

    if (close.connectedAt !== undefined) {
      const lived = close.at - close.connectedAt;
      this.shortLived = lived < SHORT_LIVED_MS ? this.shortLived + 1 : 0;
      if (this.shortLived >= TAKEOVER_AFTER && close.reasonCode !== 0x8e) {
        found.push({
          kind: "takeover",
          message: `The connection dropped within ${Math.round(SHORT_LIVED_MS / 1000)} s of connecting ${this.shortLived} times in a row: another client is probably using client ID ${this.clientId}. Make sure only one process uses this venId.`,
        });
      }
    }

    const request = this.lastRequest;
    this.lastRequest = undefined;
    if (request && close.at - request.at <= POLICY_BLAME_WINDOW_MS && close.reasonCode !== 0x8e) {
      this.blamedCount = this.blamedTopic === request.topic ? this.blamedCount + 1 : 1;
      this.blamedTopic = request.topic;
      if (this.blamedCount >= POLICY_DENIAL_AFTER) {
        found.push({
          kind: "policy-denial",
          topic: request.topic,
          operation: request.operation,
          message: `The broker closed the connection right after each ${request.operation.toUpperCase()} on ${request.topic} (${this.blamedCount} times in a row): its policy probably denies ${request.operation === "subscribe" ? "subscribing to" : "publishing to"} that topic for client ID ${this.clientId}.`,
        });
      }
    } else {
      this.blamedTopic = undefined;
      this.blamedCount = 0;
    }
    return found;
  }

  /** Called when a connection has stayed up long enough to count as healthy. */
  onStable(): void {
    this.shortLived = 0;
    this.blamedTopic = undefined;
    this.blamedCount = 0;
  }
}

/**
 * Logs disconnects without flooding: the first of a cause in full, repeats of the same cause
 * only as a count (at 10, 100, 1000 ... repeats, when the cause changes, and when a connection
 * becomes stable), however far apart they are.
 */
export class DisconnectLog {
  private cause: string | undefined;
  private repeats = 0;
  private firstAt = 0;

  constructor(private readonly log: Logger) {}

  /** Returns true when this disconnect was logged in full (so callers can keep related lines quiet). */
  record(cause: string, at: number, delayMs: number): boolean {
    const next = `reconnecting in ${(delayMs / 1000).toFixed(1)} s`;
    if (cause === this.cause) {
      this.repeats++;
      if (isPowerOfTen(this.repeats)) {
        this.log.warn(`Disconnected ${this.repeats + 1} times since ${new Date(this.firstAt).toISOString()}: ${cause}; ${next}`);
      } else {
        this.log.debug(`Disconnected: ${cause}; ${next}`);
      }
      return false;
    }
    this.flush();
    this.cause = cause;
    this.repeats = 0;
    this.firstAt = at;
    this.log.warn(`Disconnected: ${cause}; ${next}`);
    return true;
  }

  /** Logs the count of collapsed repeats, if any, and starts over. */
  flush(): void {
    if (this.cause !== undefined && this.repeats > 0 && !isPowerOfTen(this.repeats)) {
      this.log.warn(`Disconnected ${this.repeats + 1} times in all since ${new Date(this.firstAt).toISOString()}: ${this.cause}`);
    }
    this.cause = undefined;
    this.repeats = 0;
  }
}

function isPowerOfTen(value: number): boolean {
  return value >= 10 && /^10*$/.test(String(value));
}
