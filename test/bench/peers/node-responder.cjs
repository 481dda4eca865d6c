// The smallest command responder: an MQTT.js client on Node that replies to every command on
// ven/cmd/VEN_ID with an ack on ven/ack/VEN_ID, QoS 1. The round-trip benchmark measures it next
// to `ven run` to show what the VEN adds over a bare MQTT.js handler.
//   node node-responder.cjs URL VEN_ID
const mqtt = require("mqtt");

const [url, venId] = process.argv.slice(2);
const client = mqtt.connect(url, { clientId: venId, protocolVersion: 5 });

client.on("connect", () => client.subscribe(`ven/cmd/${venId}`, { qos: 1 }));
client.on("message", (_topic, payload) => {
  let command;
  try {
    command = JSON.parse(payload.toString("utf8"));
  } catch {
    return;
  }
  const now = Math.floor(Date.now() / 1000);
  const ack = { op: command.op, status: "success", ok: true, venId, correlationId: command.correlationId ?? null, pong: true, ts: now, timestamp: now };
  client.publish(`ven/ack/${venId}`, JSON.stringify(ack), { qos: 1 });
});
process.on("SIGTERM", () => client.end(false, {}, () => process.exit(0)));
