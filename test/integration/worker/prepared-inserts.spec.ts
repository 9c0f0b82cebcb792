import assert from "node:assert/strict";
import type { Pool, ResultSetHeader, RowDataPacket } from "mysql2/promise";
import { insertEvents, type EventRow } from "../../../src/store/events-repo.js";
import { insertLedgerRows, type LedgerRow } from "../../../src/store/ledger-repo.js";
import { createDrainTestEnv, type DrainTestEnv } from "./worker-harness.js";

// Events and awards go in as prepared statements (binary protocol). These rows
// are also written the way the text protocol would (mysql2's escaping into a
// literal INSERT) and both must read back identical, value for value.
describe("prepared event and ledger inserts", function () {
  let env: DrainTestEnv;
  before(async () => {
    env = await createDrainTestEnv("prepared_inserts");
  });
  after(async () => env.close());

  function event(userId: string, i: number, over: Partial<EventRow> = {}): EventRow {
    return {
      userId,
      gameId: "com.example.prepared",
      eventId: `e${String(i).padStart(4, "0")}`,
      type: "Custom",
      customEventName: null,
      occurredAt: "2026-11-26 08:20:31.250001",
      utcOffsetMin: -330,
      customdata: null,
      batchId: "01a21632-7cdc-7b7f-aca1-778f0452bee4",
      receivedAt: "2026-11-26 08:20:32.999",
      clockSkewUs: 0,
      ...over,
    };
  }

  const tricky: Array<Partial<EventRow>> = [
    { eventId: "it's \\ \"quoted\" %s ? :x `tick`", customEventName: "name ' OR 1=1 --" },
    { eventId: "emoji \ud83d\ude00 and \u00e9 \u4e2d", customdata: JSON.stringify({ s: "\ud83d\ude00 '); DROP TABLE events; --", n: 1.5e300, z: -0, nested: [null, true, { a: "\\u0000" }] }) },
    { eventId: "trailing space ", customdata: JSON.stringify({ big: "x".repeat(16_000) }), type: "LevelCompleted" },
    { occurredAt: "1970-01-01 00:00:00.000000", receivedAt: "2038-01-19 03:14:08.001", utcOffsetMin: 840 },
    { customdata: '{"key order":"kept","a":1,  "spaces":  "kept"}', customEventName: "" },
  ];

  function rowsFor(userId: string): EventRow[] {
    const rows = tricky.map((over, i) => event(userId, i, over));
    for (let i = tricky.length; i < 1234; i++) rows.push(event(userId, i, { customdata: i % 3 === 0 ? JSON.stringify({ i }) : null }));
    return rows;
  }

  async function storedEvents(pool: Pool, userId: string): Promise<unknown[]> {
    const [rows] = await pool.query<RowDataPacket[]>(
      `SELECT game_id, event_id, type, custom_event_name, occurred_at, utc_offset_min, customdata, batch_id, received_at,
              HEX(event_id) AS event_hex, HEX(customdata) AS customdata_hex
         FROM events WHERE user_id = ? ORDER BY event_id`,
      [userId],
    );
    return rows.map((r) => ({ ...r }));
  }

  it("stores events exactly as the text protocol does, and counts only new rows", async () => {
    const textRows = rowsFor("text-user");
    const values: unknown[] = [];
    for (const r of textRows) values.push(r.userId, r.gameId, r.eventId, r.type, r.customEventName, r.occurredAt, r.utcOffsetMin, r.customdata, r.batchId, r.receivedAt);
    const [text] = await env.pool.query<ResultSetHeader>(
      `INSERT INTO events (user_id, game_id, event_id, type, custom_event_name, occurred_at, utc_offset_min, customdata, batch_id, received_at, stored_at)
       VALUES ${textRows.map(() => "(?,?,?,?,?,?,?,?,?,?,UTC_TIMESTAMP(3))").join(",")}`,
      values,
    );
    assert.equal(text.affectedRows, textRows.length);

    const rows = rowsFor("bin-user");
    assert.equal(await insertEvents(env.pool, rows), rows.length);
    const a = await storedEvents(env.pool, "text-user");
    const b = await storedEvents(env.pool, "bin-user");
    assert.equal(b.length, rows.length);
    assert.deepEqual(b, a);

    // Stored already: skipped and counted 0; mixed with new rows: only the new ones count.
    assert.equal(await insertEvents(env.pool, rows), 0);
    const more = [...rows.slice(0, 500), ...Array.from({ length: 37 }, (_, i) => event("bin-user", 5000 + i))];
    assert.equal(await insertEvents(env.pool, more), 37);
  });

  it("writes awards as the text protocol does, and refuses a second award for an event", async () => {
    const award = (userId: string, i: number): LedgerRow => ({
      userId,
      gameId: "com.example.prepared",
      eventId: i === 0 ? "\ud83d\ude00 it's" : `l${String(i).padStart(4, "0")}`,
      amount: i === 1 ? 9_223_372_036_854_775_807n : BigInt(i),
      batchId: "01a21632-7cdc-7b7f-aca1-778f0452bee4",
    });
    const rows = Array.from({ length: 1111 }, (_, i) => award("bin-ledger", i));
    await insertLedgerRows(env.pool, rows);
    const textRows = Array.from({ length: 1111 }, (_, i) => award("text-ledger", i));
    await env.pool.query(
      `INSERT INTO coin_ledger (user_id, game_id, event_id, amount, batch_id, created_at) VALUES ${textRows.map(() => "(?,?,?,?,?,UTC_TIMESTAMP(3))").join(",")}`,
      textRows.flatMap((r) => [r.userId, r.gameId, r.eventId, r.amount, r.batchId]),
    );
    const read = async (userId: string) => {
      const [got] = await env.pool.query<RowDataPacket[]>(
        "SELECT game_id, event_id, amount, batch_id FROM coin_ledger WHERE user_id = ? ORDER BY seq",
        [userId],
      );
      return got.map((r) => ({ ...r }));
    };
    const stored = await read("bin-ledger");
    assert.deepEqual(stored, await read("text-ledger"));
    assert.deepEqual(stored.map((r) => r.event_id), rows.map((r) => r.eventId), "seq follows the given order");
    await assert.rejects(insertLedgerRows(env.pool, [award("bin-ledger", 7)]), (err: { errno?: number }) => err.errno === 1062);
  });
});
