import assert from "node:assert/strict";
import { format } from "mysql2";
import { formatEventInserts, type EventRow } from "../../../src/store/events-repo.js";

function row(userId: string, eventId: string, customdata: string | null = null): EventRow {
  return {
    userId,
    gameId: "com.example.game",
    eventId,
    type: "Custom",
    customEventName: null,
    occurredAt: "2026-11-26 08:20:31.250000",
    utcOffsetMin: 60,
    customdata,
    batchId: "01a21632-7cdc-7b7f-aca1-778f0452bee4",
    receivedAt: "2026-11-26 08:20:32.000",
  };
}

describe("event INSERT statements built in advance", () => {
  it("escapes every value as mysql2's own formatting does", async () => {
    const tricky = row("u1", "it's \\ \"quoted\"\n\u0000", JSON.stringify({ sql: "'); DROP TABLE events; --", emoji: "\ud83d\ude00" }));
    const { statements } = await formatEventInserts([tricky]);
    const expected = format("(?,?,?,?,?,?,?,?,?,?,UTC_TIMESTAMP(3))", [
      tricky.userId, tricky.gameId, tricky.eventId, tricky.type, tricky.customEventName,
      tricky.occurredAt, tricky.utcOffsetMin, tricky.customdata, tricky.batchId, tricky.receivedAt,
    ]);
    assert.equal(statements.length, 1);
    assert.ok(statements[0]!.includes(` VALUES ${expected} ON DUPLICATE KEY UPDATE`), statements[0]);
  });

  it("writes rows in key order, and splits them into statements of at most 2,000 rows and ~2 MB", async () => {
    const rows = Array.from({ length: 4500 }, (_, i) => row(`u${(4500 - i) % 7}`, `e${String(i).padStart(5, "0")}`));
    const small = await formatEventInserts(rows);
    assert.equal(small.rows, 4500);
    assert.deepEqual(small.statements.map((s) => s.split("UTC_TIMESTAMP(3)").length - 1), [2000, 2000, 500]);
    const order = small.statements.join("").match(/\('u\d','com\.example\.game','e\d+'/g)!;
    assert.deepEqual(order, [...order].sort());

    const big = await formatEventInserts(Array.from({ length: 10 }, (_, i) => row("u", `e${i}`, JSON.stringify({ pad: "x".repeat(500_000) }))));
    assert.ok(big.statements.length >= 3, `${big.statements.length} statements`);
    assert.ok(big.statements.every((s) => s.length < 2.2 * 1024 * 1024));
  });

  it("yields to the caller while formatting a large set", async () => {
    let pauses = 0;
    await formatEventInserts(Array.from({ length: 1000 }, (_, i) => row("u", `e${i}`)), { pause: async () => void pauses++ });
    assert.ok(pauses >= 3, `${pauses} pauses`);
  });
});
