import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import * as v from "valibot";
import { CommandProcessor, pingHandler, type OpHandler } from "../../src/agent/commands.ts";
import { createLogger } from "../../src/logger.ts";
import { AckSchema, type Ack } from "../../src/protocol/acks.ts";
import { formatIssues } from "../../src/protocol/schema-helpers.ts";

const VEN_ID = "ven-home-042";
const TOPIC = `ven/cmd/${VEN_ID}`;
const NOW_S = 1764850001;

interface LogRecord {
  level: string;
  tag?: string;
  msg: string;
}

function fixtureText(name: string): string {
  return readFileSync(new URL(`../fixtures/${name}.json`, import.meta.url), "utf8");
}

/** Creates a processor that logs to memory, and a `handle` that checks every ack against AckSchema. */
function setup(handlers: Record<string, OpHandler> = { ping: pingHandler }) {
  const lines: string[] = [];
  const log = createLogger({ level: "debug", format: "json", sink: { write: (text: string) => lines.push(text) } });
  const processor = new CommandProcessor({ venId: VEN_ID, now: () => NOW_S, log, handlers });

  const handle = async (payload: string | Buffer, retained = false): Promise<Ack | undefined> => {
    const ack = await processor.handle(TOPIC, typeof payload === "string" ? Buffer.from(payload) : payload, retained);
    if (ack !== undefined) {
      const checked = v.safeParse(AckSchema, ack);
      if (!checked.success) throw new Error(`ack breaks AckSchema: ${formatIssues(checked.issues)}`);
    }
    return ack;
  };
  const records = (): LogRecord[] => lines.map((line) => JSON.parse(line) as LogRecord);
  return { handle, records };
}

describe("CommandProcessor", () => {
  test("ping matches fixture ack", async () => {
    const { handle } = setup();
    const ack = await handle(fixtureText("command-ping"));
    expect(ack).toEqual(JSON.parse(fixtureText("ack-ping")));
  });

  test("ping echoes numeric correlationId", async () => {
    const { handle } = setup();
    expect((await handle('{"op":"ping","correlationId":77}'))?.correlationId).toBe(77);
  });

  test("ping without correlationId", async () => {
    const { handle } = setup();
    expect((await handle('{"op":"ping"}'))?.correlationId).toBeNull();
  });

  test("ping for own venId", async () => {
    const { handle } = setup();
    expect((await handle(`{"op":"ping","venId":"${VEN_ID}"}`))?.status).toBe("success");
  });

  test("unsupported op is rejected", async () => {
    const { handle } = setup();
    const ack = await handle('{"op":"dance","correlationId":"d-1"}');
    expect(ack?.status).toBe("rejected");
    expect(ack?.error?.code).toBe("unsupported_op");
    expect(ack?.error?.message).toContain('"dance"');
    expect(ack?.correlationId).toBe("d-1");
  });

  test("unsupported op lacks event_id", async () => {
    const { handle } = setup();
    expect(await handle('{"op":"dance","correlationId":"d-2"}')).not.toHaveProperty("event_id");
  });

  test("op from prototype is unsupported", async () => {
    const { handle } = setup();
    expect((await handle('{"op":"toString","correlationId":"p-1"}'))?.error?.code).toBe("unsupported_op");
  });

  test.each([
    ["event_id", '{"op":"event","correlationId":"c-1","event_id":"evt-1"}', "evt-1"],
    ["data.event_id", '{"op":"event","correlationId":"c-2","data":{"event_id":"evt-2"}}', "evt-2"],
    ["correlationId", '{"op":"event","correlationId":"c-3"}', "c-3"],
    ["shedPanel correlationId", '{"op":"shedPanel","correlationId":"c-4"}', "c-4"],
    ["numeric event_id", '{"op":"event","correlationId":"c-5","event_id":55}', 55],
  ] as const)("event rejection carries %s", async (_name, payload, eventId) => {
    const { handle } = setup();
    const ack = await handle(payload);
    expect(ack?.error?.code).toBe("unsupported_op");
    expect(ack?.event_id).toBe(eventId);
  });

  test("fixture event rejection carries event_id", async () => {
    const { handle } = setup();
    expect((await handle(fixtureText("command-event")))?.event_id).toBe("evt-7c1e20aa");
  });

  test("other venId is rejected", async () => {
    const { handle } = setup();
    const ack = await handle('{"op":"ping","venId":"ven-other","correlationId":"w-1"}');
    expect(ack?.status).toBe("rejected");
    expect(ack?.error?.code).toBe("wrong_ven");
    expect(ack?.error?.message).toContain("ven-other");
    expect(ack?.venId).toBe(VEN_ID);
  });

  test("other venId on event keeps event_id", async () => {
    const { handle } = setup();
    const ack = await handle('{"op":"event","venId":"ven-other","correlationId":"w-2","event_id":"evt-9"}');
    expect(ack?.error?.code).toBe("wrong_ven");
    expect(ack?.event_id).toBe("evt-9");
  });

  test("other venId never runs handler", async () => {
    let calls = 0;
    const { handle } = setup({ ping: (command, context) => (calls++, pingHandler(command, context)) });
    await handle('{"op":"ping","venId":"ven-other","correlationId":"w-3"}');
    expect(calls).toBe(0);
  });

  test("junk with correlationId is rejected", async () => {
    const { handle } = setup();
    const ack = await handle('{"op":"ping","correlationId":"c-1",');
    expect(ack?.status).toBe("rejected");
    expect(ack?.error?.code).toBe("invalid_command");
    expect(ack?.error?.message).toMatch(/not JSON/);
    expect(ack?.op).toBe("ping");
    expect(ack?.correlationId).toBe("c-1");
  });

  test("wrong types are rejected", async () => {
    const { handle } = setup();
    const ack = await handle('{"op":5,"correlationId":"t-1"}');
    expect(ack?.error?.code).toBe("invalid_command");
    expect(ack?.error?.message).toContain("op");
    expect(ack?.op).toBe("unknown");
  });

  test("broken event keeps event_id", async () => {
    const { handle } = setup();
    expect((await handle('{"op":"event","correlationId":"c-7",'))?.event_id).toBe("c-7");
  });

  test("junk without correlationId gets no ack", async () => {
    const { handle } = setup();
    expect(await handle("not json at all")).toBeUndefined();
  });

  test("junk without correlationId is logged", async () => {
    const { handle, records } = setup();
    await handle("not json at all");
    const warning = records().find((record) => record.level === "warn");
    expect(warning?.msg).toContain(TOPIC);
    expect(warning?.msg).toContain("15 bytes");
    expect(warning?.msg).toContain('"not json at all"');
  });

  test("large junk log is bounded", async () => {
    const { handle, records } = setup();
    await handle("x".repeat(1024 * 1024));
    const warning = records().find((record) => record.level === "warn");
    expect(warning?.msg).toContain("1048576 bytes");
    expect(warning?.msg.length).toBeLessThan(1024);
  });

  test("next command still answered", async () => {
    const { handle } = setup();
    await handle(Buffer.from([0xff, 0xfe]));
    expect((await handle(fixtureText("command-ping")))?.status).toBe("success");
  });

  test("retained command never runs", async () => {
    let calls = 0;
    const { handle } = setup({ ping: (command, context) => (calls++, pingHandler(command, context)) });
    const ack = await handle(fixtureText("command-ping"), true);
    expect(ack).toBeUndefined();
    expect(calls).toBe(0);
  });

  test("retained command logged once", async () => {
    const { handle, records } = setup();
    await handle(fixtureText("command-ping"), true);
    await handle(fixtureText("command-ping"), true);
    const warnings = records().filter((record) => record.level === "warn");
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.msg).toContain(TOPIC);
    expect(warnings[0]?.msg).toContain("retained");
  });

  test("other retained payload logged", async () => {
    const { handle, records } = setup();
    await handle('{"op":"ping","correlationId":"r-1"}', true);
    await handle('{"op":"ping","correlationId":"r-2"}', true);
    expect(records().filter((record) => record.level === "warn")).toHaveLength(2);
  });

  test("throwing handler gives error ack", async () => {
    const { handle } = setup({
      ping: () => {
        throw new Error("site model broke");
      },
    });
    const ack = await handle('{"op":"ping","correlationId":"x-1"}');
    expect(ack?.status).toBe("error");
    expect(ack?.ok).toBe(false);
    expect(ack?.error?.code).toBe("internal_error");
    expect(ack?.error?.message).toContain("site model broke");
  });

  test("rejecting handler gives error ack", async () => {
    const { handle } = setup({ ping: async () => Promise.reject(new Error("late failure")) });
    expect((await handle('{"op":"ping","correlationId":"x-2"}'))?.error?.code).toBe("internal_error");
  });

  test("handler failure is logged", async () => {
    const { handle, records } = setup({
      ping: () => {
        throw new Error("site model broke");
      },
    });
    await handle('{"op":"ping","correlationId":"x-3"}');
    expect(records().some((record) => record.level === "error" && record.msg.includes("site model broke"))).toBe(true);
  });

  test("acks use the given time", async () => {
    const { handle } = setup();
    const ack = await handle('{"op":"dance","correlationId":"t-2"}');
    expect(ack?.timestamp).toBe(NOW_S);
    expect(ack?.ts).toBe(NOW_S);
  });
});
