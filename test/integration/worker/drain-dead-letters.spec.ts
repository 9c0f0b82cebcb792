import assert from "node:assert/strict";
import { create, toBinary } from "@bufbuild/protobuf";
import { IngestEventsRequestSchema } from "../../../gen/playsmart/ingest/v1/ingest_pb.js";
import { selectDeadLetters } from "../../../src/store/dead-letters-repo.js";
import { encodeEntry } from "../../../src/stream/stream-entry.js";
import { consumerGroup, deadLetterKey, streamKey } from "../../../src/stream/stream-keys.js";
import { uuidV7 } from "../../../src/stream/uuid-v7.js";
import {
  balanceOf,
  createDrainTestEnv,
  makeBatch,
  mixedEvents,
  registerGame,
  scalar,
  startTestWorker,
  stopAllWorkers,
  streamBacklog,
  waitFor,
  type DrainTestEnv,
} from "./worker-harness.js";

describe("drain worker: dead letters", function () {
  let env: DrainTestEnv;
  let key: string;
  before(async () => {
    env = await createDrainTestEnv("drain_dead_letters");
    key = streamKey(env.prefix, 0);
    await registerGame(env.pool, { gameId: "com.example.dl", coinsPerLevel: 10n });
  });
  afterEach(stopAllWorkers);
  after(async () => env.close());

  /** Fields of a hand-made entry, as the gateway would write them, with overrides. */
  const fields = (overrides: Record<string, string | Buffer | undefined>): Array<string | Buffer> => {
    const base: Record<string, string | Buffer | undefined> = {
      v: "1", b: uuidV7(), u: "dl-user", g: "com.example.dl", t: String(Date.now()), f: "json",
      d: JSON.stringify({ user_id: "dl-user", game_id: "com.example.dl", events: mixedEvents(2) }),
      ...overrides,
    };
    return Object.entries(base).flatMap(([k, v]) => (v === undefined ? [] : [k, v]));
  };

  const deadLetterStream = async () => {
    const entries = await env.redis.xrange(deadLetterKey(env.prefix, 0), "-", "+");
    return entries.map(([, f]) => {
      const m = new Map<string, string>();
      for (let i = 0; i + 1 < f.length; i += 2) m.set(f[i]!, f[i + 1]!);
      return m;
    });
  };

  it("moves poison entries to the dead-letter stream and table, and stores the rest of their read", async () => {
    let deep: Record<string, unknown> = { leaf: 1 };
    for (let i = 0; i < 40; i++) deep = { next: deep }; // deeper than MariaDB can store (31 levels)
    const good1 = makeBatch({ userId: "dl-good-1", gameId: "com.example.dl", events: mixedEvents(4) });
    const good2 = makeBatch({ userId: "dl-good-2", gameId: "com.example.dl", events: mixedEvents(4), format: "pb" });
    const good3 = makeBatch({ userId: "dl-good-3", gameId: "com.example.dl", events: mixedEvents(4) });
    const poison: Array<{ why: string; fields: Array<string | Buffer> }> = [
      { why: "body is not JSON", fields: fields({ d: "{not json" }) },
      { why: "differs from the entry", fields: fields({ u: "someone-else" }) },
      { why: "not a binary IngestEventsRequest", fields: fields({ f: "pb", d: Buffer.from([0xff, 0xff, 0xff, 0xff]) }) },
      { why: 'no field "d"', fields: fields({ d: undefined }) },
      { why: "breaks the contract", fields: fields({ d: JSON.stringify({ user_id: "dl-user", game_id: "com.example.dl", events: [] }) }) },
      { why: "unknown entry version", fields: fields({ v: "99" }) },
      {
        // Refused by the worker's own check before MySQL would refuse it (error 4025).
        why: "customdata: is nested deeper than 31 levels",
        fields: fields({
          d: JSON.stringify({
            user_id: "dl-user", game_id: "com.example.dl",
            events: [{ type: "LevelCompleted", timestamp: "2026-11-26T09:00:00Z", customdata: deep }],
          }),
        }),
      },
      {
        why: "breaks the contract",
        fields: fields({
          f: "pb",
          d: Buffer.from(toBinary(IngestEventsRequestSchema, create(IngestEventsRequestSchema, { userId: "dl-user", gameId: "com.example.dl" }))),
        }),
      },
    ];
    // Good and poison entries interleaved, all in one read.
    const poisonIds: string[] = [];
    await env.producer.append(good1);
    for (const [i, p] of poison.entries()) {
      poisonIds.push((await env.redis.xadd(key, "*", ...p.fields))!);
      if (i === 2) await env.producer.append(good2);
    }
    await env.producer.append(good3);

    const w = await startTestWorker(env);
    await waitFor("the stream drained", async () => {
      const backlog = await streamBacklog(env);
      return backlog.length === 0 && backlog.pending === 0;
    });

    for (const u of ["dl-good-1", "dl-good-2", "dl-good-3"]) {
      assert.equal(await scalar(env.pool, "SELECT COUNT(*) FROM events WHERE user_id = ?", [u]), 4, `events of ${u}`);
      assert.equal(await balanceOf(env.pool, u), 20n, `balance of ${u}`);
    }
    assert.equal(await scalar(env.pool, "SELECT COUNT(*) FROM events WHERE user_id IN ('dl-user', 'someone-else')"), 0);

    const rows = await selectDeadLetters(env.pool);
    assert.deepEqual(rows.map((r) => r.entryId).sort(), [...poisonIds].sort());
    for (const r of rows) {
      const p = poison[poisonIds.indexOf(r.entryId)]!;
      assert.equal(r.streamKey, key);
      assert.equal(r.attempts, 1);
      assert.ok(r.error.includes(p.why), `dead letter ${r.entryId}: ${JSON.stringify(r.error)} should mention ${JSON.stringify(p.why)}`);
    }
    const stream = await deadLetterStream();
    assert.deepEqual(stream.map((m) => m.get("entry")).sort(), [...poisonIds].sort());
    for (const m of stream) {
      assert.equal(m.get("stream"), key);
      assert.equal(m.get("attempts"), "1");
      assert.ok((m.get("error") ?? "").length > 0);
    }
    assert.equal(w.worker.stats.deadLetters, poison.length);
  });

  it("dead-letters an entry delivered more than maxAttempts times without processing it", async () => {
    const batch = makeBatch({ userId: "dl-tired", gameId: "com.example.dl", events: mixedEvents(2) });
    const id = (await env.redis.xadd(key, "*", ...encodeEntry(batch)))!;
    // A consumer that keeps failing on it: 5 deliveries so far, long idle.
    await env.redis.xreadgroup("GROUP", consumerGroup, "flaky", "COUNT", 10, "STREAMS", key, ">");
    await env.redis.xclaim(key, consumerGroup, "flaky", 0, id, "IDLE", 60_000, "RETRYCOUNT", 5);

    const w = await startTestWorker(env, { config: { maxAttempts: 5, claimIdleMs: 1000 } });
    await waitFor("the entry dead-lettered", async () => {
      const backlog = await streamBacklog(env);
      return backlog.length === 0 && backlog.pending === 0;
    });
    assert.equal(await scalar(env.pool, "SELECT COUNT(*) FROM events WHERE user_id = 'dl-tired'"), 0);
    const row = (await selectDeadLetters(env.pool)).find((r) => r.entryId === id);
    assert.ok(row, "a dead_letters row");
    assert.equal(row.attempts, 6);
    assert.match(row.error, /delivered 6 times/);
    assert.equal(row.payload?.toString("utf8"), batch.body);
    assert.ok((await deadLetterStream()).some((m) => m.get("entry") === id && m.get("attempts") === "6"));
    assert.equal(w.worker.stats.deadLetters, 1);
  });

  it("takes back at start the entries a previous process of the same consumer name left pending", async () => {
    const batch = makeBatch({ userId: "dl-restart", gameId: "com.example.dl", events: mixedEvents(2) });
    await env.producer.append(batch);
    await env.redis.xreadgroup("GROUP", consumerGroup, "restarting-worker", "COUNT", 10, "STREAMS", key, ">");
    // claimIdleMs is long: only the start-up recovery can pick this entry up quickly.
    const w = await startTestWorker(env, { config: { consumerName: "restarting-worker", claimIdleMs: 60_000 } });
    await waitFor("the entry stored", async () => {
      const backlog = await streamBacklog(env);
      return backlog.length === 0 && backlog.pending === 0;
    }, 3000);
    assert.equal(await scalar(env.pool, "SELECT COUNT(*) FROM events WHERE user_id = 'dl-restart'"), 2);
    assert.equal(await balanceOf(env.pool, "dl-restart"), 10n);
    assert.equal(w.worker.stats.entriesRead, 1);
  });
});
