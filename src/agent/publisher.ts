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
