import { describeError } from "../errors.ts";
import type { Logger } from "../logger.ts";
import { NotConnectedError, type ConnectionSupervisor } from "../transport/supervisor.ts";

/**
 * The two delivery classes of the agent's messages. Everything the agent publishes goes through
 * here, so the delivery guarantee of each class is decided in one place.
 */
export interface MessagePublisher {
  /**
   * Publishes a message that must reach the broker: telemetry on the backend topic and every ack.
   * Resolves when the broker has acknowledged it; failures are logged, never thrown.
   */
  durable(topic: string, payload: string, description: string): Promise<void>;
  /** Publishes a monitoring copy: sent when connected, dropped otherwise. */
  live(topic: string, payload: string, description: string): Promise<void>;
}

/**
 * Hands every message straight to the connection. While disconnected, durable messages are lost
 * and logged: this publisher keeps nothing.
 */
export class DirectPublisher implements MessagePublisher {
  constructor(
    private readonly supervisor: ConnectionSupervisor,
    private readonly log: Logger,
  ) {}

  async durable(topic: string, payload: string, description: string): Promise<void> {
    await this.send(topic, payload, description, "warn");
  }

  async live(topic: string, payload: string, description: string): Promise<void> {
    await this.send(topic, payload, description, "debug");
  }

  private async send(topic: string, payload: string, description: string, level: "warn" | "debug"): Promise<void> {
    try {
      await this.supervisor.publish(topic, payload);
      this.log.debug(`${description} acknowledged on ${topic}`);
    } catch (error) {
      const reason = error instanceof NotConnectedError ? "not connected" : describeError(error);
      this.log[level](`${description} to ${topic} not delivered: ${reason}`);
    }
  }
}
