import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import type { RowDataPacket } from "mysql2/promise";
import { createDynamicClient } from "../../helpers/grpc-client.js";
import { registerPlayer, startTestApp, type TestApp, type TestPlayer } from "../../helpers/start-app.js";

const gameId = "com.example.clocks";
const hour = 3_600_000;

// An instant as the device writes it: its local time at `offsetMinutes`, with
// milliseconds and optionally three more digits of microseconds.
function deviceTime(epochMs: number, offsetMinutes: number, extraMicros = ""): string {
  const local = new Date(epochMs + offsetMinutes * 60_000).toISOString().slice(0, 23);
  const sign = offsetMinutes < 0 ? "-" : "+";
  const abs = Math.abs(offsetMinutes);
  const offset = offsetMinutes === 0 ? "Z" : `${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
  return `${local}${extraMicros}${offset}`;
}

// Microseconds since the epoch of a MySQL `YYYY-MM-DD hh:mm:ss.ffffff` in UTC.
function micros(datetime: string): number {
  const [whole, fraction = ""] = datetime.split(".");
  return Date.parse(`${whole!.replace(" ", "T")}Z`) * 1000 + Number(fraction.padEnd(6, "0"));
}

interface StoredTimes extends RowDataPacket {
  event_id: string;
  occurred_at: string;
  utc_offset_min: number;
  received_at: string;
  corrected_at: string;
}

describe("clock-skew correction: sent_at and corrected_at", function () {
  this.timeout(30_000);
  let app: TestApp;
  let player: TestPlayer;

  before(async () => {
    app = await startTestApp({ name: "clock_skew", role: "all" });
    player = await registerPlayer(app.url);
  });
  after(() => app.close());

  const post = (body: Record<string, unknown>) =>
    fetch(`${app.url}/ingest/events`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${player.accessToken}` },
      body: JSON.stringify({ user_id: player.userId, game_id: gameId, ...body }),
    });
  const stored = async (ids: string[]): Promise<StoredTimes[]> => {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const [rows] = await app.pool.query<StoredTimes[]>(
        `SELECT event_id, DATE_FORMAT(occurred_at, '%Y-%m-%d %H:%i:%s.%f') AS occurred_at, utc_offset_min,
                DATE_FORMAT(received_at, '%Y-%m-%d %H:%i:%s.%f') AS received_at,
                DATE_FORMAT(corrected_at, '%Y-%m-%d %H:%i:%s.%f') AS corrected_at
           FROM events WHERE user_id = ? AND event_id IN (?) ORDER BY event_id`,
        [player.userId, ids],
      );
      if (rows.length === ids.length) return rows;
      if (Date.now() > deadline) assert.fail(`timed out waiting for ${ids.join(", ")} (${rows.length} stored)`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };

  it("a device clock 3 hours fast: corrected_at = timestamp + (receive - sent_at), to the microsecond", async () => {
    const now = Date.now();
    const fast = now + 3 * hour;
    // Played 5 and 2 minutes ago by the real clock, written by the fast clock at +02:00 and -05:30.
    const events = [
      { type: "AppOpen", timestamp: deviceTime(fast - 5 * 60_000, 120), event_id: "skew-a" },
      { type: "LevelCompleted", timestamp: deviceTime(fast - 2 * 60_000, -330, "417"), event_id: "skew-b" },
    ];
    const sentAt = deviceTime(fast, 120, "250");
    const res = await post({ sent_at: sentAt, events });
    assert.equal(res.status, 202);
    const rows = await stored(["skew-a", "skew-b"]);
    const sentUs = micros(new Date(fast).toISOString().slice(0, 23).replace("T", " ")) + 250;
    for (const [i, row] of rows.entries()) {
      // The event's own timestamp is kept as sent: instant and offset.
      const expectedOccurred = i === 0 ? (fast - 5 * 60_000) * 1000 : (fast - 2 * 60_000) * 1000 + 417;
      assert.equal(micros(row.occurred_at), expectedOccurred, row.event_id);
      assert.equal(row.utc_offset_min, i === 0 ? 120 : -330);
      const skewUs = micros(row.received_at) - sentUs;
      assert.equal(micros(row.corrected_at), expectedOccurred + skewUs, `${row.event_id}: corrected_at ${row.corrected_at}`);
      // On the server's clock the events happened 5 and 2 minutes before the batch was received.
      const before = (micros(row.received_at) - micros(row.corrected_at)) / 1000;
      // (sent_at's 250 µs past the millisecond are the only difference.)
      assert.equal(before, (i === 0 ? 5 : 2) * 60_000 + 0.25 - (i === 0 ? 0 : 0.417), `${row.event_id}: ${before} ms before receive`);
    }
  });

  it("without sent_at (or with an empty one) corrected_at equals the timestamp", async () => {
    const ts = "2026-11-26T09:20:31.250123+01:00";
    assert.equal((await post({ events: [{ type: "AppOpen", timestamp: ts, event_id: "plain-a" }] })).status, 202);
    assert.equal((await post({ sent_at: "", events: [{ type: "AppOpen", timestamp: ts, event_id: "plain-b" }] })).status, 202);
    for (const row of await stored(["plain-a", "plain-b"])) {
      assert.equal(row.occurred_at, "2026-11-26 08:20:31.250123");
      assert.equal(row.corrected_at, row.occurred_at);
    }
  });

  it("sentAt (lowerCamel) and gRPC's binary sent_at are read the same way", async () => {
    const now = Date.now();
    const slow = now - 2 * hour;
    assert.equal((await post({ sentAt: deviceTime(slow, 0), events: [{ type: "AppOpen", timestamp: deviceTime(slow - 1000, 0), event_id: "camel" }] })).status, 202);
    const client = createDynamicClient(app.url, "playsmart/ingest/v1/ingest.proto", "playsmart.ingest.v1.IngestService");
    try {
      const answer = await client.call<{ accepted: number }>(
        "IngestEvents",
        { user_id: player.userId, game_id: gameId, sent_at: deviceTime(slow, 60), events: [{ type: "AppOpen", timestamp: deviceTime(slow - 1000, 60), event_id: "grpc" }] },
        { authorization: `Bearer ${player.accessToken}` },
      );
      assert.equal(answer.accepted, 1);
    } finally {
      client.close();
    }
    for (const row of await stored(["camel", "grpc"])) {
      // The device was 2 hours slow: one second before receive, on the server's clock.
      assert.equal(micros(row.received_at) - micros(row.corrected_at), 1_000_000, row.event_id);
    }
  });

  it("refuses a sent_at more than 31 days from the receive time, or not a timestamp, naming sent_at", async () => {
    const day = 24 * hour;
    const now = Date.now();
    const event = { type: "AppOpen", timestamp: "2026-11-26T09:15:00Z" };
    const cases: Array<[unknown, string | RegExp]> = [
      [deviceTime(now - 32 * day, 0), /^is more than 31 days from the server's time \(.+\): check the device clock$/],
      [deviceTime(now + 32 * day, 330), /^is more than 31 days from the server's time/],
      ["2026-11-26 09:15:00", /^must be an ISO 8601 date-time with an explicit offset/],
      [1764148500000, "must be an ISO 8601 string with an offset"],
    ];
    for (const [sentAt, reason] of cases) {
      const res = await post({ sent_at: sentAt, events: [event] });
      assert.equal(res.status, 400, String(sentAt));
      const body = (await res.json()) as { details: Array<{ index: number; field: string; reason: string }> };
      assert.equal(body.details.length, 1);
      assert.equal(body.details[0]!.field, "sent_at");
      assert.equal(body.details[0]!.index, -1);
      if (typeof reason === "string") assert.equal(body.details[0]!.reason, reason);
      else assert.match(body.details[0]!.reason, reason);
    }
    // 30 days off is accepted.
    assert.equal((await post({ sent_at: deviceTime(now - 30 * day, 0), events: [event], dry_run: true })).status, 200);
    const client = createDynamicClient(app.url, "playsmart/ingest/v1/ingest.proto", "playsmart.ingest.v1.IngestService");
    try {
      await assert.rejects(
        client.call("IngestEvents", { user_id: player.userId, game_id: gameId, sent_at: deviceTime(now - 40 * day, 0), events: [event] }, { authorization: `Bearer ${player.accessToken}` }),
        (err: grpc.ServiceError) => err.code === grpc.status.INVALID_ARGUMENT && /^sent_at: is more than 31 days/.test(err.details),
      );
    } finally {
      client.close();
    }
  });
});
