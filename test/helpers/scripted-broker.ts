import { createServer, type Server, type Socket } from "node:net";
import mqttPacket, { type IConnectPacket, type IPublishPacket, type ISubscribePacket, type Packet, type PacketCmd } from "mqtt-packet";

const HOST = "127.0.0.1";

/** MQTT 5 reason codes the scripts use most. */
export const ReasonCode = {
  success: 0x00,
  grantedQos1: 0x01,
  unspecifiedError: 0x80,
  notAuthorized: 0x87,
  serverBusy: 0x89,
  sessionTakenOver: 0x8e,
  topicNameInvalid: 0x90,
  quotaExceeded: 0x97,
} as const;

/** MQTT 3.1.1 CONNACK return code 1, and the SUBACK failure code of 3.1.1. */
const UNACCEPTABLE_PROTOCOL_VERSION = 1;
const SUBACK_FAILURE_V311 = 0x80;
/** MQTT 5 DISCONNECT reason code with which a client asks the broker to publish its will anyway. */
const DISCONNECT_WITH_WILL = 0x04;

/** One packet a client sent to the broker. */
export interface ReceivedPacket {
  /** The client ID from the connection's CONNECT, or "" before it arrived. */
  clientId: string;
  cmd: PacketCmd;
  /** 3, 4 (3.1.1) or 5, taken from the connection's CONNECT. */
  protocolVersion: number;
  /** PUBLISH topic, or the first topic filter of a SUBSCRIBE or UNSUBSCRIBE. */
  topic?: string;
  /** Every topic filter of a SUBSCRIBE or UNSUBSCRIBE. */
  topicFilters?: string[];
  payload?: Buffer;
  qos?: number;
  retain?: boolean;
  messageId?: number;
  /** Reason code of a PUBACK or DISCONNECT (MQTT 5). */
  reasonCode?: number;
  /** Date.now() on arrival. */
  at: number;
  /** The packet as mqtt-packet parsed it. */
  packet: Packet;
}

/** One CONNECT and what the broker did with it. */
export interface ConnectRecord {
  clientId: string;
  protocolVersion: number;
  /** Date.now() on arrival. */
  at: number;
  /** The CONNACK code sent back, or undefined while frozen (no CONNACK). */
  connackCode: number | undefined;
}

/** A will message the broker published because a connection ended without a normal DISCONNECT. */
export interface PublishedWill {
  clientId: string;
  topic: string;
  payload: Buffer;
  retain: boolean;
  at: number;
}

export interface StopAckingOptions {
  /** Still send PINGRESP for each PINGREQ. Default true. */
  pingresp?: boolean;
}

export interface ScriptedBroker {
  readonly host: string;
  readonly port: number;
  /** `mqtt://127.0.0.1:PORT`. */
  readonly url: string;
  /** Every packet received from every client, oldest first. */
  readonly received: ReceivedPacket[];
  /** Every CONNECT received, oldest first, refused ones included. */
  readonly connects: ConnectRecord[];
  /** Wills published after abrupt closes, takeovers and broker-side disconnects. */
  readonly wills: PublishedWill[];
  /**
   * Sends a session takeover when a client connects with the ID of a connected client: the old
   * connection gets DISCONNECT 0x8E (MQTT 5) or is closed (3.1.1). Default true, as the MQTT
   * specification requires. With false, both connections stay open.
   */
  takeoverOnConnect: boolean;

  /** Received PUBLISH packets, all or those for one topic. */
  publishes(topic?: string): ReceivedPacket[];
  /**
   * Resolves with the first received packet at index `since` or later that matches, and waits
   * up to `timeoutMs` (default 5000) for one to arrive.
   */
  waitFor(predicate: (packet: ReceivedPacket) => boolean, timeoutMs?: number, since?: number): Promise<ReceivedPacket>;
  /** Client IDs with an accepted connection that is still open. */
  clients(): string[];

  /**
   * Responds to the next `times` CONNECTs (default all) with this code and closes the connection: an
   * MQTT 5 reason code for version 5 clients, a 3.1.1 return code for the others. `undefined`
   * accepts connections again.
   */
  refuseConnack(code: number | undefined, times?: number): void;
  /** Responds to MQTT 5 CONNECTs with the 3.1.1 return code 1, as a broker without MQTT 5 does. */
  refuseVersion5(refuse?: boolean): void;
  /**
   * Sends DISCONNECT with `reasonCode` to the connected clients (or only `clientId`) and closes
   * their connections. 3.1.1 has no DISCONNECT from the broker, so those clients are just closed.
   * Returns how many clients were disconnected.
   */
  disconnectWith(reasonCode: number, clientId?: string): number;
  /** Closes the connection without a SUBACK when a SUBSCRIBE contains exactly this topic filter. */
  closeOnSubscribe(topicFilter: string): void;
  /** Closes the connection without a PUBACK when a PUBLISH to exactly this topic arrives. */
  closeOnPublish(topic: string): void;
  /** Grants this topic filter with `code` in the SUBACK. 3.1.1 clients get 0x80 for any code of 0x80 or more. */
  subackCode(topicFilter: string, code: number): void;
  /**
   * Acknowledges PUBLISH packets to this topic with `code`. A code of 0x80 or more rejects the
   * message, so it is not routed or retained. 3.1.1 has no PUBACK reason code, so a 3.1.1 client
   * is closed instead.
   */
  pubackCode(topic: string, code: number): void;
  /** Receives and routes every PUBLISH but sends no PUBACK until `resumeAcking()`. */
  stopAcking(options?: StopAckingOptions): void;
  resumeAcking(): void;
  /**
   * Sends nothing at all while the sockets stay open, like a stopped broker process. Packets that
   * arrive meanwhile are recorded and then dropped: `thaw()` does not process them.
   */
  freeze(): void;
  thaw(): void;
  /** Clears every script above and restores the default behaviour. Recorded packets stay. */
  resetScripts(): void;
  /** Destroys every connection and stops listening. Safe to call twice. */
  close(): Promise<void>;
}

/** State of one TCP connection. */
interface Connection {
  socket: Socket;
  clientId: string;
  protocolVersion: number;
  /** True once a successful CONNACK was sent and until the connection ends. */
  accepted: boolean;
  /** Set when the broker closes the connection. Bytes that arrive after that are ignored. */
  ended: boolean;
  will: IConnectPacket["will"];
  /** Set when the client ends with a DISCONNECT that suppresses the will. */
  willCancelled: boolean;
  /** Topic filter to granted QoS. */
  subscriptions: Map<string, number>;
  nextMessageId: number;
}

interface Waiter {
  predicate: (packet: ReceivedPacket) => boolean;
  since: number;
  resolve: (packet: ReceivedPacket) => void;
}

interface RoutedMessage {
  topic: string;
  payload: Buffer;
  qos: number;
  retain: boolean;
}

/**
 * Returns true when `topic` matches `filter` with the MQTT wildcards `+` (one level) and `#` (the
 * rest, including the parent level). Filters starting with a wildcard do not match `$` topics.
 */
export function topicMatches(filter: string, topic: string): boolean {
  if (topic.startsWith("$") && (filter.startsWith("+") || filter.startsWith("#"))) return false;
  const filterLevels = filter.split("/");
  const topicLevels = topic.split("/");
  for (let index = 0; index < filterLevels.length; index++) {
    const level = filterLevels[index];
    if (level === "#") return true;
    if (index >= topicLevels.length) return false;
    if (level !== "+" && level !== topicLevels[index]) return false;
  }
  return filterLevels.length === topicLevels.length;
}

function toBuffer(payload: string | Buffer | undefined): Buffer {
  if (payload === undefined) return Buffer.alloc(0);
  return typeof payload === "string" ? Buffer.from(payload) : payload;
}

/**
 * Starts a minimal MQTT 3.1.1 and 5 broker on 127.0.0.1 with an ephemeral port, built on
 * mqtt-packet, whose responses a test can script to reproduce broker faults and policy denials.
 * It supports QoS 0 and 1 only, keeps no sessions (sessionPresent is always false) and does not
 * enforce keep-alive.
 */
export async function startScriptedBroker(): Promise<ScriptedBroker> {
  const received: ReceivedPacket[] = [];
  const connects: ConnectRecord[] = [];
  const wills: PublishedWill[] = [];
  const waiters = new Set<Waiter>();
  const connections = new Set<Connection>();
  const retained = new Map<string, RoutedMessage>();

  let takeoverOnConnect = true;
  let connackRefusal: { code: number; remaining: number } | undefined;
  let version5Refused = false;
  const closeSubscribeFilters = new Set<string>();
  const closePublishTopics = new Set<string>();
  const subackCodes = new Map<string, number>();
  const pubackCodes = new Map<string, number>();
  let sendPuback = true;
  let sendPingresp = true;
  let frozen = false;
  let closed = false;

  const record = (entry: ReceivedPacket) => {
    const index = received.length;
    received.push(entry);
    for (const waiter of waiters) {
      if (index >= waiter.since && waiter.predicate(entry)) {
        waiters.delete(waiter);
        waiter.resolve(entry);
      }
    }
  };

  const send = (connection: Connection, packet: Packet, protocolVersion = connection.protocolVersion) => {
    if (frozen || connection.socket.destroyed) return;
    connection.socket.write(mqttPacket.generate(packet, { protocolVersion }));
  };

  const deliver = (connection: Connection, message: RoutedMessage, grantedQos: number) => {
    const qos = Math.min(message.qos, grantedQos) as 0 | 1;
    const packet: IPublishPacket = { cmd: "publish", topic: message.topic, payload: message.payload, qos, retain: message.retain, dup: false };
    if (qos > 0) {
      packet.messageId = connection.nextMessageId;
      connection.nextMessageId = (connection.nextMessageId % 0xffff) + 1;
    }
    send(connection, packet);
  };

  /** Sends a message to every accepted connection with a matching subscription, once per connection. */
  const route = (message: RoutedMessage) => {
    if (message.retain) {
      if (message.payload.length === 0) retained.delete(message.topic);
      else retained.set(message.topic, message);
    }
    for (const connection of connections) {
      if (!connection.accepted) continue;
      let grantedQos = -1;
      for (const [filter, qos] of connection.subscriptions) {
        if (topicMatches(filter, message.topic)) grantedQos = Math.max(grantedQos, qos);
      }
      // A live message is forwarded with retain false, as MQTT 3.1.1 and 5 (without Retain As Published) require.
      if (grantedQos >= 0) deliver(connection, { ...message, retain: false }, grantedQos);
    }
  };

  const publishWill = (connection: Connection) => {
    const will = connection.will;
    if (!connection.accepted || connection.willCancelled || !will) return;
    connection.will = undefined;
    const payload = toBuffer(will.payload);
    const retain = will.retain ?? false;
    wills.push({ clientId: connection.clientId, topic: will.topic, payload, retain, at: Date.now() });
    route({ topic: will.topic, payload, qos: Math.min(will.qos ?? 0, 1), retain });
  };

  /**
   * Closes a connection from the broker side and publishes the will unless the client cancelled
   * it. end() flushes a DISCONNECT or CONNACK written just before; the timer destroys a socket
   * whose client never closes its side.
   */
  const endConnection = (connection: Connection) => {
    publishWill(connection);
    connection.accepted = false;
    connection.ended = true;
    connection.socket.end();
    setTimeout(() => connection.socket.destroy(), 1000).unref();
  };

  const onConnect = (connection: Connection, packet: IConnectPacket) => {
    const protocolVersion = packet.protocolVersion ?? 4;
    connection.protocolVersion = protocolVersion;
    connection.clientId = packet.clientId;
    const connect: ConnectRecord = { clientId: packet.clientId, protocolVersion, at: Date.now(), connackCode: undefined };
    connects.push(connect);
    if (frozen) return;

    if (version5Refused && protocolVersion === 5) {
      connect.connackCode = UNACCEPTABLE_PROTOCOL_VERSION;
      send(connection, { cmd: "connack", returnCode: UNACCEPTABLE_PROTOCOL_VERSION, sessionPresent: false }, 4);
      endConnection(connection);
      return;
    }
    if (connackRefusal && connackRefusal.remaining > 0) {
      connackRefusal.remaining -= 1;
      const code = connackRefusal.code;
      connect.connackCode = code;
      const refusal: Packet = protocolVersion === 5 ? { cmd: "connack", reasonCode: code, sessionPresent: false } : { cmd: "connack", returnCode: code, sessionPresent: false };
      send(connection, refusal);
      endConnection(connection);
      return;
    }

    if (takeoverOnConnect) {
      for (const other of connections) {
        if (other === connection || !other.accepted || other.clientId !== packet.clientId) continue;
        if (other.protocolVersion === 5) send(other, { cmd: "disconnect", reasonCode: ReasonCode.sessionTakenOver });
        endConnection(other);
      }
    }
    connection.will = packet.will;
    connection.accepted = true;
    connect.connackCode = 0;
    const accepted: Packet = protocolVersion === 5 ? { cmd: "connack", reasonCode: 0, sessionPresent: false } : { cmd: "connack", returnCode: 0, sessionPresent: false };
    send(connection, accepted);
  };

  const onSubscribe = (connection: Connection, packet: ISubscribePacket) => {
    const filters = packet.subscriptions.map((subscription) => subscription.topic);
    if (filters.some((filter) => closeSubscribeFilters.has(filter))) {
      endConnection(connection);
      return;
    }
    const granted = packet.subscriptions.map((subscription) => {
      const scripted = subackCodes.get(subscription.topic);
      if (scripted === undefined) return Math.min(subscription.qos, 1);
      if (connection.protocolVersion !== 5 && scripted >= 0x80) return SUBACK_FAILURE_V311;
      return scripted;
    });
    const newlyGranted: Array<[string, number]> = [];
    packet.subscriptions.forEach((subscription, index) => {
      const code = granted[index] ?? SUBACK_FAILURE_V311;
      if (code >= 0x80) return;
      connection.subscriptions.set(subscription.topic, code);
      newlyGranted.push([subscription.topic, code]);
    });
    send(connection, { cmd: "suback", messageId: packet.messageId ?? 0, granted });

    for (const [filter, qos] of newlyGranted) {
      for (const message of retained.values()) {
        if (topicMatches(filter, message.topic)) deliver(connection, message, qos);
      }
    }
  };

  const onPublish = (connection: Connection, packet: IPublishPacket) => {
    if (closePublishTopics.has(packet.topic)) {
      endConnection(connection);
      return;
    }
    const code = pubackCodes.get(packet.topic) ?? 0;
    if (code >= 0x80 && connection.protocolVersion !== 5) {
      endConnection(connection);
      return;
    }
    if (packet.qos === 1 && sendPuback) {
      const puback: Packet = connection.protocolVersion === 5 ? { cmd: "puback", messageId: packet.messageId ?? 0, reasonCode: code } : { cmd: "puback", messageId: packet.messageId ?? 0 };
      send(connection, puback);
    }
    if (code >= 0x80) return;
    route({ topic: packet.topic, payload: toBuffer(packet.payload), qos: Math.min(packet.qos, 1), retain: packet.retain });
  };

  const onPacket = (connection: Connection, packet: Packet) => {
    if (connection.ended) return;
    const entry: ReceivedPacket = { clientId: connection.clientId, cmd: packet.cmd, protocolVersion: connection.protocolVersion, at: Date.now(), packet };
    if (packet.cmd === "connect") {
      entry.clientId = packet.clientId;
      entry.protocolVersion = packet.protocolVersion ?? 4;
    }
    if (packet.cmd === "publish") {
      entry.topic = packet.topic;
      entry.payload = toBuffer(packet.payload);
      entry.qos = packet.qos;
      entry.retain = packet.retain;
    }
    if (packet.cmd === "subscribe") {
      entry.topicFilters = packet.subscriptions.map((subscription) => subscription.topic);
      entry.topic = entry.topicFilters[0];
    }
    if (packet.cmd === "unsubscribe") {
      entry.topicFilters = packet.unsubscriptions;
      entry.topic = entry.topicFilters[0];
    }
    if (packet.messageId !== undefined) entry.messageId = packet.messageId;
    if ((packet.cmd === "puback" || packet.cmd === "disconnect") && packet.reasonCode !== undefined) entry.reasonCode = packet.reasonCode;
    record(entry);

    if (packet.cmd === "connect") {
      onConnect(connection, packet);
      return;
    }
    // A frozen broker sends nothing, and before a successful CONNACK there is no session to act on.
    if (frozen || !connection.accepted) return;
    switch (packet.cmd) {
      case "subscribe":
        onSubscribe(connection, packet);
        break;
      case "publish":
        onPublish(connection, packet);
        break;
      case "unsubscribe":
        for (const filter of packet.unsubscriptions) connection.subscriptions.delete(filter);
        send(connection, connection.protocolVersion === 5 ? { cmd: "unsuback", messageId: packet.messageId ?? 0, granted: packet.unsubscriptions.map(() => 0) } : { cmd: "unsuback", messageId: packet.messageId ?? 0, granted: [] });
        break;
      case "pingreq":
        if (sendPingresp) send(connection, { cmd: "pingresp" });
        break;
      case "disconnect":
        // A normal DISCONNECT cancels the will, but MQTT 5 reason 0x04 requests that it be published.
        connection.willCancelled = connection.protocolVersion !== 5 || (packet.reasonCode ?? 0) !== DISCONNECT_WITH_WILL;
        endConnection(connection);
        break;
      default:
        // PUBACK for messages the broker sent, and packets of QoS 2 flows, are only recorded.
        break;
    }
  };

  const server: Server = createServer((socket) => {
    if (closed) {
      socket.destroy();
      return;
    }
    const connection: Connection = {
      socket,
      clientId: "",
      protocolVersion: 4,
      accepted: false,
      ended: false,
      will: undefined,
      willCancelled: false,
      subscriptions: new Map(),
      nextMessageId: 1,
    };
    connections.add(connection);
    // The parser switches to the protocol version of the CONNECT it parses, so MQTT 5 properties
    // in later packets are read correctly.
    const parser = mqttPacket.parser();
    parser.on("packet", (packet) => onPacket(connection, packet));
    parser.on("error", () => endConnection(connection));
    socket.on("data", (chunk: Buffer) => {
      if (!connection.ended) parser.parse(chunk);
    });
    socket.on("error", () => {
      // Resets from clients are expected; 'close' follows.
    });
    socket.on("close", () => {
      publishWill(connection);
      connection.accepted = false;
      connections.delete(connection);
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: HOST, port: 0 }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("scripted broker has no TCP address");
  const port = address.port;

  const resetScripts = () => {
    takeoverOnConnect = true;
    connackRefusal = undefined;
    version5Refused = false;
    closeSubscribeFilters.clear();
    closePublishTopics.clear();
    subackCodes.clear();
    pubackCodes.clear();
    sendPuback = true;
    sendPingresp = true;
    frozen = false;
  };

  return {
    host: HOST,
    port,
    url: `mqtt://${HOST}:${port}`,
    received,
    connects,
    wills,
    get takeoverOnConnect() {
      return takeoverOnConnect;
    },
    set takeoverOnConnect(value: boolean) {
      takeoverOnConnect = value;
    },
    publishes(topic) {
      return received.filter((entry) => entry.cmd === "publish" && (topic === undefined || entry.topic === topic));
    },
    waitFor(predicate, timeoutMs = 5000, since = 0) {
      const found = received.slice(since).find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise<ReceivedPacket>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          const seen = received.slice(since).map((entry) => `${entry.clientId}:${entry.cmd}${entry.topic === undefined ? "" : ` ${entry.topic}`}`);
          reject(new Error(`timed out after ${timeoutMs} ms waiting for a matching packet; received: ${JSON.stringify(seen)}`));
        }, timeoutMs);
        const waiter: Waiter = {
          predicate,
          since,
          resolve: (entry) => {
            clearTimeout(timer);
            resolve(entry);
          },
        };
        waiters.add(waiter);
      });
    },
    clients() {
      return [...connections].filter((connection) => connection.accepted).map((connection) => connection.clientId);
    },
    refuseConnack(code, times = Number.POSITIVE_INFINITY) {
      connackRefusal = code === undefined ? undefined : { code, remaining: times };
    },
    refuseVersion5(refuse = true) {
      version5Refused = refuse;
    },
    disconnectWith(reasonCode, clientId) {
      let count = 0;
      for (const connection of [...connections]) {
        if (!connection.accepted || (clientId !== undefined && connection.clientId !== clientId)) continue;
        if (connection.protocolVersion === 5) send(connection, { cmd: "disconnect", reasonCode });
        endConnection(connection);
        count += 1;
      }
      return count;
    },
    closeOnSubscribe(topicFilter) {
      closeSubscribeFilters.add(topicFilter);
    },
    closeOnPublish(topic) {
      closePublishTopics.add(topic);
    },
    subackCode(topicFilter, code) {
      subackCodes.set(topicFilter, code);
    },
    pubackCode(topic, code) {
      pubackCodes.set(topic, code);
    },
    stopAcking(options = {}) {
      sendPuback = false;
      sendPingresp = options.pingresp ?? true;
    },
    resumeAcking() {
      sendPuback = true;
      sendPingresp = true;
    },
    freeze() {
      frozen = true;
    },
    thaw() {
      frozen = false;
    },
    resetScripts,
    async close() {
      if (closed) return;
      closed = true;
      for (const connection of connections) connection.socket.destroy();
      connections.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
