import assert from "node:assert/strict";
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
    clockSkewUs: 0,
  };
}

const rowsOf = (sql: string) => sql.split("UTC_TIMESTAMP(3)").length - 1;

describe("event INSERT statements built in advance", () => {
  it("binds every value as a parameter, none in the SQL text", async () => {
    const tricky = row("u1", "it's \\ \"quoted\"\n\u0000", JSON.stringify({ sql: "'); DROP TABLE events; --", emoji: "\ud83d\ude00" }));
    const { statements } = await formatEventInserts([tricky]);
    assert.equal(statements.length, 1);
    assert.ok(!statements[0]!.sql.includes("DROP"), statements[0]!.sql);
    assert.ok(statements[0]!.sql.endsWith("VALUES (?,?,?,?,?,?,?,?,?,?,?,UTC_TIMESTAMP(3)) ON DUPLICATE KEY UPDATE event_id = event_id"));
    assert.deepEqual(statements[0]!.values, [
      tricky.userId, tricky.gameId, tricky.eventId, tricky.type, tricky.customEventName,
      tricky.occurredAt, tricky.utcOffsetMin, tricky.customdata, tricky.batchId, tricky.receivedAt, tricky.clockSkewUs,
    ]);
  });

  it("writes rows in key order, in statements of 1,000/100/10/1 rows only", async () => {
    const rows = Array.from({ length: 4523 }, (_, i) => row(`u${(4523 - i) % 7}`, `e${String(i).padStart(5, "0")}`));
    const small = await formatEventInserts(rows);
    assert.equal(small.rows, 4523);
    assert.deepEqual(small.statements.map((s) => rowsOf(s.sql)), [1000, 1000, 1000, 1000, 100, 100, 100, 100, 100, 10, 10, 1, 1, 1]);
    for (const s of small.statements) assert.equal(s.values.length, rowsOf(s.sql) * 11);
    const keys = small.statements.flatMap((s) => {
      const out: string[] = [];
      for (let i = 0; i < s.values.length; i += 11) out.push(`${String(s.values[i])} ${String(s.values[i + 2])}`);
      return out;
    });
    assert.deepEqual(keys, [...keys].sort());
    assert.equal(new Set(small.statements.map((s) => s.sql)).size, 4, "one statement text per shape");
  });

  it("keeps a statement of large rows near 2 MB of values", async () => {
    const pad = (n: number) => JSON.stringify({ pad: "x".repeat(n) });
    const big = await formatEventInserts(Array.from({ length: 300 }, (_, i) => row("u", `e${String(i).padStart(3, "0")}`, pad(16_000))));
    assert.equal(big.statements.reduce((n, s) => n + rowsOf(s.sql), 0), 300);
    for (const s of big.statements) {
      const bytes = s.values.reduce<number>((n, v) => n + (typeof v === "string" ? v.length : 8), 0);
      assert.ok(bytes < 2.1 * 1024 * 1024, `${bytes} bytes`);
    }
    // A row larger than the budget still goes, alone.
    const huge = await formatEventInserts([row("u", "a", pad(3_000_000)), row("u", "b")]);
    assert.deepEqual(huge.statements.map((s) => rowsOf(s.sql)), [1, 1]);
  });

  it("yields to the caller between statements", async () => {
    let pauses = 0;
    await formatEventInserts(Array.from({ length: 3000 }, (_, i) => row("u", `e${i}`)), { pause: async () => void pauses++ });
    assert.ok(pauses >= 2, `${pauses} pauses`);
  });
});
