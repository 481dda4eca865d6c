import type { IPublishPacket, MqttClient } from "mqtt";
import type { Clock, TimerHandle } from "../clock.ts";
import type { MqttVersionSetting, VenConfig } from "../config/resolve.ts";
import { describeError } from "../errors.ts";
import type { Logger } from "../logger.ts";
import { Backoff } from "./backoff.ts";
import { DisconnectDiagnosis, DisconnectLog, type Diagnosis } from "./diagnosis.ts";
import { buildClientOptions, openMqttClient, type ConnectionSettings, type Will } from "./client-options.ts";
import { describeReasonCode, isFailureCode, isUnsupportedVersion } from "./reason-codes.ts";

export type SupervisorState = "idle" | "connecting" | "connected" | "waiting" | "stopping" | "stopped";

export interface SupervisorOptions extends ConnectionSettings {
  mqttVersion: MqttVersionSetting;
  reconnect: { minDelayMs: number; maxDelayMs: number };
  /** A connection that stays up this long resets the backoff to its minimum. */
  stableAfterMs?: number;
  /**
   * Behaviour when the very first attempt fails: `retry` (the agent keeps trying) or `stop`
   * (operator tools report the broker as unreachable instead).
   */
  firstFailure?: "retry" | "stop";
  /** Topic filters subscribed with QoS 1 on every connect. */
  subscriptions?: readonly string[];
  /** Built again before every connect, so its timestamp is fresh. */
  will?: () => Will;
  /** Runs after the subscriptions on every connect, e.g. to publish the online status. */
  onConnected?: (info: ConnectedInfo) => Promise<void> | void;
  onMessage?: (topic: string, payload: Buffer, packet: IPublishPacket) => void;
  clock: Clock;
  log: Logger;
  random?: () => number;
}

export interface ConnectedInfo {
  protocolVersion: 4 | 5;
  sessionPresent: boolean;
  /** Connections made so far, this one included. */
  connectCount: number;
}

export interface PublishOptions {
  retain?: boolean;
}

/** Thrown by `publish` while there is no live connection. */
export class NotConnectedError extends Error {
  constructor(topic: string) {
    super(`not connected; message for ${topic} not sent`);
    this.name = "NotConnectedError";
  }
}

interface PendingPublish {
  topic: string;
  reject: (error: Error) => void;
  settled: Promise<unknown>;
}

type Listener<T> = (value: T) => void;

/**
 * Owns the MQTT connection: connects, subscribes on every connect and checks each SUBACK code,
 * reconnects with backoff after any loss, falls back from MQTT 5 to 3.1.1 when a broker refuses
 * version 5, and stops with a clean DISCONNECT. Each attempt uses a fresh MQTT.js client with its
 * automatic reconnect off, so no state leaks from one connection into the next.
 */
export class ConnectionSupervisor {
  private options: SupervisorOptions;
  private readonly log: Logger;
  private readonly backoff: Backoff;
  private client: MqttClient | undefined;
  private protocolVersion: 4 | 5;
  private reconnectTimer: TimerHandle | undefined;
  private pending = new Set<PendingPublish>();
  private stateValue: SupervisorState = "idle";
  private connectCount = 0;
  private attemptCount = 0;
  private subscriptionFailures = new Map<string, number>();
  private readonly diagnosis: DisconnectDiagnosis;
  private readonly disconnectLog: DisconnectLog;
  private readonly reportedDiagnoses = new Set<string>();
  private stableTimer: TimerHandle | undefined;
  private quietAttempts = false;
  private lastCause: string | undefined;
  private readonly diagnosisListeners = new Set<Listener<Diagnosis>>();
  private readonly connectedListeners = new Set<Listener<ConnectedInfo>>();
  private readonly disconnectedListeners = new Set<Listener<{ cause: string; attempt: number; wasConnected: boolean }>>();

  constructor(options: SupervisorOptions) {
    this.options = options;
    this.log = options.log;
    this.protocolVersion = options.mqttVersion === "3.1.1" ? 4 : 5;
    const backoffOptions = { minDelayMs: options.reconnect.minDelayMs, maxDelayMs: options.reconnect.maxDelayMs };
    this.backoff = new Backoff(options.random ? { ...backoffOptions, random: options.random } : backoffOptions);
    this.diagnosis = new DisconnectDiagnosis(options.clientId);
    this.disconnectLog = new DisconnectLog(options.log);
  }

  /** The cause of the last disconnect or failed attempt, if any. */
  get lastDisconnectCause(): string | undefined {
    return this.lastCause;
  }

  /** Reports a probable session takeover or policy denial, once per run of disconnects. */
  onDiagnosis(listener: Listener<Diagnosis>): () => void {
    this.diagnosisListeners.add(listener);
    return () => this.diagnosisListeners.delete(listener);
  }

  get state(): SupervisorState {
    return this.stateValue;
  }

  get connected(): boolean {
    return this.stateValue === "connected";
  }

  get version(): 4 | 5 {
    return this.protocolVersion;
  }

  /** Subscriptions the broker refused on the present connection, with their reason codes. */
  get refusedSubscriptions(): ReadonlyMap<string, number> {
    return this.subscriptionFailures;
  }

  onConnected(listener: Listener<ConnectedInfo>): () => void {
    this.connectedListeners.add(listener);
    return () => this.connectedListeners.delete(listener);
  }

  onDisconnected(listener: Listener<{ cause: string; attempt: number; wasConnected: boolean }>): () => void {
    this.disconnectedListeners.add(listener);
    return () => this.disconnectedListeners.delete(listener);
  }

  start(): void {
    if (this.stateValue !== "idle") return;
    this.connectOnce();
  }

  /** Uses new TLS files from the next connection on, e.g. after certificate rotation. */
  setTlsMaterial(tls: ConnectionSettings["tls"]): void {
    this.options.tls = tls;
  }

  /**
   * Closes the present connection and connects again at once, e.g. to apply new certificate
   * files. Does nothing while stopping or stopped.
   */
  reconnectNow(reason: string): void {
    if (this.stateValue === "stopping" || this.stateValue === "stopped" || this.stateValue === "idle") return;
    this.log.info(`Reconnecting: ${reason}`);
    if (this.reconnectTimer) this.options.clock.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    const client = this.client;
    if (!client) {
      this.connectOnce();
      return;
    }
    this.client = undefined;
    client.removeAllListeners();
    client.on("error", () => undefined);
    client.end(false, {}, () => undefined);
    this.failPending("connection replaced before the broker acknowledged");
    this.connectOnce();
  }

  /**
   * Publishes with QoS 1 and resolves on PUBACK. Rejects at once while disconnected, when the
   * broker returns a failure code, and when the connection closes before the PUBACK.
   */
  publish(topic: string, payload: string | Buffer, options: PublishOptions = {}): Promise<void> {
    const client = this.client;
    if (!client || this.stateValue !== "connected") return Promise.reject(new NotConnectedError(topic));

    this.diagnosis.noteRequest("publish", topic, this.options.clock.now());
    let entry: PendingPublish;
    const settled = new Promise<void>((resolve, reject) => {
      entry = { topic, reject, settled: Promise.resolve() };
      client.publish(topic, payload, { qos: 1, retain: options.retain ?? false }, (error) => {
        this.pending.delete(entry);
        if (error) reject(this.publishError(topic, error));
        else resolve();
      });
    });
    entry!.settled = settled.catch(() => undefined);
    this.pending.add(entry!);
    return settled;
  }

  /** Number of QoS 1 messages handed to the broker and not yet acknowledged. */
  get inFlight(): number {
    return this.pending.size;
  }

  /**
   * Stops for good: publishes `final` (the offline status) when connected, waits up to
   * `drainTimeoutMs` for outstanding PUBACKs, then sends a normal DISCONNECT so the broker does
   * not publish the last will.
   */
  async stop(options: { final?: Will; drainTimeoutMs?: number } = {}): Promise<void> {
    if (this.stateValue === "stopped" || this.stateValue === "stopping") return;
    const wasConnected = this.stateValue === "connected";
    this.stateValue = "stopping";
    if (this.reconnectTimer) this.options.clock.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    if (this.stableTimer) this.options.clock.clearTimeout(this.stableTimer);
    this.stableTimer = undefined;

    const client = this.client;
    if (client && wasConnected && options.final) {
      const final = options.final;
      const entry: PendingPublish = { topic: final.topic, reject: () => undefined, settled: Promise.resolve() };
      entry.settled = new Promise<void>((resolve) => {
        client.publish(final.topic, final.payload, { qos: 1, retain: final.retain }, (error) => {
          if (error) this.log.warn(`Final message to ${final.topic} not acknowledged: ${describeError(error)}`);
          this.pending.delete(entry);
          resolve();
        });
      });
      this.pending.add(entry);
    }

    if (this.pending.size > 0) {
      const drained = Promise.all([...this.pending].map((entry) => entry.settled));
      const timedOut = await raceTimeout(drained, options.drainTimeoutMs ?? 3000);
      if (timedOut) this.log.warn(`${this.pending.size} message(s) not acknowledged before the stop timeout`);
    }

    if (client) {
      client.removeAllListeners("close");
      client.on("close", () => undefined);
      client.on("error", () => undefined);
      if (client.connected) {
        const ended = new Promise<void>((resolve) => client.end(false, {}, () => resolve()));
        if (await raceTimeout(ended, 500)) client.end(true);
      } else {
        client.end(true);
      }
    }
    this.failPending("the VEN is stopping");
    this.client = undefined;
    this.stateValue = "stopped";
  }

  private connectOnce(): void {
    this.reconnectTimer = undefined;
    if (this.stateValue === "stopping" || this.stateValue === "stopped") return;
    this.stateValue = "connecting";
    this.attemptCount++;
    this.subscriptionFailures = new Map();
    const { broker, clientId } = this.options;
    const version = this.protocolVersion;
    const connecting = `Connecting to ${broker.url} as ${clientId} (MQTT ${version === 5 ? "5" : "3.1.1"})`;
    if (this.quietAttempts) this.log.debug(connecting);
    else this.log.info(connecting);
    if (this.options.insecure && broker.protocol === "mqtts") {
      this.log.warn("Certificate verification of the broker is off (--insecure); use this only for testing");
    }

    const client = openMqttClient(this.options, buildClientOptions(this.options, version, this.options.will?.()));
    this.client = client;
    let cause: string | undefined;
    let refusedVersion = false;
    let connectedAt: number | undefined;
    let reasonCode: number | undefined;

    client.on("connect", (connack) => {
      connectedAt = this.options.clock.now();
      void this.onConnect(client, { protocolVersion: version, sessionPresent: connack.sessionPresent, connectCount: ++this.connectCount });
    });
    client.on("error", (error) => {
      const code = (error as { code?: unknown }).code;
      if (typeof code === "number" && connectedAt === undefined) {
        if (this.options.mqttVersion === "auto" && isUnsupportedVersion(code, version) && version === 5) refusedVersion = true;
        cause = `broker refused the connection: ${describeReasonCode(code, version, "connack")}`;
      } else {
        cause = describeError(error);
      }
    });
    client.on("disconnect", (packet) => {
      const code = packet.reasonCode ?? 0;
      reasonCode = code;
      cause = `broker sent DISCONNECT ${describeReasonCode(code, 5)}`;
    });
    client.on("message", (topic, payload, packet) => {
      try {
        this.options.onMessage?.(topic, payload, packet);
      } catch (error) {
        this.log.error(`Message handler failed for ${topic}: ${describeError(error)}`);
      }
    });
    client.on("close", () => this.onClose(client, { cause, refusedVersion, connectedAt, reasonCode }));
  }

  private async onConnect(client: MqttClient, info: ConnectedInfo): Promise<void> {
    const versionName = info.protocolVersion === 5 ? "5" : "3.1.1";
    // Always at info, also after a run of collapsed failures: the reader needs to see recovery.
    this.log.info(`Connected to ${this.options.broker.url} (MQTT ${versionName})`);
    this.scheduleStable(client);
    for (const topic of this.options.subscriptions ?? []) {
      this.diagnosis.noteRequest("subscribe", topic, this.options.clock.now());
      const code = await subscribe(client, topic);
      if (client !== this.client) return;
      if (code === undefined) return;
      if (isFailureCode(code)) {
        this.subscriptionFailures.set(topic, code);
        this.log.error(
          `Broker rejected the subscription to ${topic}: ${describeReasonCode(code, 5)}. Commands on that topic will not arrive; check the broker's policy or ACL for this client ID.`,
        );
      } else if (this.quietAttempts) {
        this.log.debug(`Subscribed to ${topic} (QoS ${code})`);
      } else {
        this.log.info(`Subscribed to ${topic} (QoS ${code})`);
      }
    }
    if (client !== this.client) return;
    this.stateValue = "connected";
    try {
      await this.options.onConnected?.(info);
    } catch (error) {
      this.log.warn(`After connect: ${describeError(error)}`);
    }
    for (const listener of this.connectedListeners) listener(info);
  }

  private onClose(
    client: MqttClient,
    attempt: { cause: string | undefined; refusedVersion: boolean; connectedAt: number | undefined; reasonCode: number | undefined },
  ): void {
    if (client !== this.client) return;
    if (this.stableTimer) this.options.clock.clearTimeout(this.stableTimer);
    this.stableTimer = undefined;
    client.removeAllListeners();
    client.on("error", () => undefined);
    client.end(true);
    this.client = undefined;
    const wasConnected = attempt.connectedAt !== undefined;
    this.failPending("connection closed before the broker acknowledged");
    if (this.stateValue === "stopping" || this.stateValue === "stopped") return;

    const cause = attempt.cause ?? (wasConnected ? "connection closed by the broker" : "connection closed before CONNACK");
    this.lastCause = cause;
    // A broker that refuses MQTT 5 is not a failed attempt: connect again at once with 3.1.1.
    if (attempt.refusedVersion) {
      this.stateValue = "waiting";
      this.protocolVersion = 4;
      this.log.info(`${this.options.broker.url} does not accept MQTT 5; using MQTT 3.1.1`);
      this.reconnectTimer = this.options.clock.setTimeout(() => this.connectOnce(), 0);
      return;
    }

    const giveUp = this.connectCount === 0 && this.options.firstFailure === "stop";
    this.stateValue = giveUp ? "stopped" : "waiting";
    for (const listener of this.disconnectedListeners) listener({ cause, attempt: this.attemptCount, wasConnected });
    if (giveUp) return;

    const now = this.options.clock.now();
    for (const found of this.diagnosis.onClose({ at: now, connectedAt: attempt.connectedAt, reasonCode: attempt.reasonCode })) {
      const key = found.kind === "takeover" ? "takeover" : `${found.kind}:${found.topic}`;
      if (this.reportedDiagnoses.has(key)) continue;
      this.reportedDiagnoses.add(key);
      this.log.error(found.message);
      for (const listener of this.diagnosisListeners) listener(found);
    }

    // The backoff resets only once a connection has stayed up (scheduleStable), so connections
    // that keep dropping, as in a session takeover, wait longer and longer.
    const delayMs = this.backoff.next();
    this.quietAttempts = !this.disconnectLog.record(cause, now, delayMs);
    this.reconnectTimer = this.options.clock.setTimeout(() => this.connectOnce(), delayMs);
  }

  /** Counts the connection as healthy once it has stayed up for the stable time. */
  private scheduleStable(client: MqttClient): void {
    if (this.stableTimer) this.options.clock.clearTimeout(this.stableTimer);
    this.stableTimer = this.options.clock.setTimeout(() => {
      this.stableTimer = undefined;
      if (client !== this.client) return;
      this.backoff.reset();
      this.diagnosis.onStable();
      this.disconnectLog.flush();
      this.reportedDiagnoses.clear();
      this.quietAttempts = false;
    }, this.options.stableAfterMs ?? 30_000);
  }

  private failPending(reason: string): void {
    for (const entry of this.pending) entry.reject(new Error(`${reason}: message for ${entry.topic} may not have been delivered`));
    this.pending.clear();
  }

  private publishError(topic: string, error: Error): Error {
    const code = (error as { code?: unknown }).code;
    if (typeof code === "number") {
      return Object.assign(new Error(`broker rejected the message for ${topic}: ${describeReasonCode(code, 5)}`), { code });
    }
    return error;
  }
}

/** Subscribes to one filter with QoS 1 and returns the granted code, or undefined if the connection ended first. */
function subscribe(client: MqttClient, topic: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    client.subscribe(topic, { qos: 1 }, (error, granted) => {
      if (!error) {
        resolve(granted?.[0]?.qos ?? 0x80);
        return;
      }
      // MQTT.js reports a SUBACK failure as an error that carries the SUBACK packet.
      const code = (error as { packet?: { granted?: unknown[] } }).packet?.granted?.[0];
      resolve(typeof code === "number" ? code : undefined);
    });
  });
}

async function raceTimeout(promise: Promise<unknown>, timeoutMs: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(true), timeoutMs);
  });
  try {
    return await Promise.race([promise.then(() => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Builds the connection part of the supervisor options from the resolved configuration. The agent
 * and the operator commands share it, so they connect the same way.
 */
export function connectionOptionsFrom(
  config: VenConfig,
  clientId: string,
  tls: ConnectionSettings["tls"],
): Pick<SupervisorOptions, "broker" | "clientId" | "tls" | "insecure" | "username" | "password" | "auth" | "region" | "keepaliveS" | "mqttVersion" | "reconnect" | "stableAfterMs"> {
  return {
    broker: config.broker,
    clientId,
    tls,
    insecure: config.tls.insecure,
    username: config.username,
    password: config.password,
    auth: config.auth,
    region: config.region,
    keepaliveS: config.keepaliveS,
    mqttVersion: config.mqttVersion,
    reconnect: config.reconnect,
    stableAfterMs: config.reconnect.stableAfterMs,
  };
}
