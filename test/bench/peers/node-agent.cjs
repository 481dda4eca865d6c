// The smallest agent that does what `ven run` does on the wire: an MQTT.js client on Node that
// publishes a telemetry message of the same size with QoS 1 every INTERVAL seconds. The footprint
// benchmark runs it next to `ven run` as the runtime baseline.
//   node node-agent.cjs URL VEN_ID INTERVAL_S
const mqtt = require("mqtt");

const [url, venId, intervalText] = process.argv.slice(2);
const intervalMs = Number(intervalText) * 1000;
const client = mqtt.connect(url, { clientId: venId, protocolVersion: 5 });
let seq = 0;

function publish() {
  seq += 1;
  const timestamp = Math.floor(Date.now() / 1000);
  const loads = ["hvac1", "heater1", "ev1", "dryer1", "range1", "lights1", "outlets1", "fridge1"].map((id, index) => ({
    id, name: id, type: id.replace(/\d+$/, ""), capacityKw: 7.2, currentPowerKw: 1.5, shedCapabilityKw: 1.5,
    enabled: true, critical: index === 0 || index === 7, priority: index + 1,
  }));
  const payload = JSON.stringify({ schemaVersion: "1", venId, timestamp, seq, usedPowerKw: 12.5, loads });
  client.publish("volttron/metering", payload, { qos: 1 });
  client.publish(`ven/telemetry/${venId}`, payload, { qos: 1 });
}

let timer;
client.on("connect", () => {
  if (timer) return;
  publish();
  timer = setInterval(publish, intervalMs);
});
process.on("SIGTERM", () => client.end(false, {}, () => process.exit(0)));
