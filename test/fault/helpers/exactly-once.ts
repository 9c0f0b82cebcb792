import assert from "node:assert/strict";
import type { Redis } from "ioredis";
import type { Pool, RowDataPacket } from "mysql2/promise";
import { consumerGroup, deadLetterKey, streamKey } from "../../../src/stream/stream-keys.js";
import { faultGames, rulesOf } from "./fault-games.js";
import type { PlannedBatch } from "./workload.js";

/**
 * The exactly-once audit of a fault scenario: what a scenario's database and
 * stream hold after the faults, against what the clients were told was accepted.
 * Each scenario has a database of its own, so whole tables are compared: a row
 * nobody expected is as much a failure as a missing one.
 */
export interface Audit {
  eventsExpected: number;
  eventsStored: number;
  missing: number;
  /** Stored events no accepted batch carried. */
  extra: number;
  /** Stored events whose type is not the one sent. */
  wrongType: number;
  /** First few missing / extra keys, for the failure message. */
  examples: string[];
  coinsExpected: bigint;
  /** Sum of every wallet's balance. */
  coinsPaid: bigint;
  ledgerRows: number;
  ledgerSum: bigint;
  /** Ledger rows for one event beyond the first (the unique key makes it 0). */
  ledgerDuplicates: number;
  /** Ledger rows whose event is not a stored LevelCompleted of a paying game, or of a wrong amount. */
  ledgerInvalid: number;
  /** Players whose balance differs from the expected coins or from their ledger sum. */
  walletMismatches: string[];
  /** coin_daily_totals rows that differ from the ledger. */
  dailyTotalMismatches: number;
  deadLetters: number;
}

type Row = RowDataPacket & Record<string, string>;

const keyOf = (userId: string, gameId: string, eventId: string) => `${userId}|${gameId}|${eventId}`;

/** Audits the scenario database against the batches the clients saw accepted. */
export async function auditStore(pool: Pool, accepted: readonly PlannedBatch[]): Promise<Audit> {
  const expected = new Map<string, { type: string; userId: string; gameId: string }>();
  for (const b of accepted) {
    for (const e of b.events) expected.set(keyOf(b.userId, b.gameId, e.event_id), { type: e.type, userId: b.userId, gameId: b.gameId });
  }
  const [eventRows] = await pool.query<Row[]>(
    "SELECT user_id, game_id, event_id, type, DATE_FORMAT(received_at, '%Y-%m-%d') AS day FROM events",
  );
  const stored = new Map<string, { type: string; day: string }>();
  for (const r of eventRows) stored.set(keyOf(r.user_id, r.game_id, r.event_id), { type: r.type, day: r.day });

  const examples: string[] = [];
  let missing = 0;
  let wrongType = 0;
  for (const [key, e] of expected) {
    const s = stored.get(key);
    if (!s) {
      missing++;
      if (examples.length < 5) examples.push(`missing ${key}`);
    } else if (s.type !== e.type) {
      wrongType++;
      if (examples.length < 5) examples.push(`type of ${key}: ${s.type}, sent ${e.type}`);
    }
  }
  let extra = 0;
  for (const key of stored.keys()) {
    if (!expected.has(key)) {
      extra++;
      if (examples.length < 8) examples.push(`extra ${key}`);
    }
  }

  // Coins from the rules: every level of the paying game; the capped game's
  // levels cut to the cap per player and UTC day of the receive time (the day
  // the stored event carries; a missing event counts on today).
  const today = new Date().toISOString().slice(0, 10);
  const expectedByUser = new Map<string, bigint>();
  const cappedLevels = new Map<string, { userId: string; n: bigint }>();
  for (const [key, e] of expected) {
    if (e.type !== "LevelCompleted") continue;
    if (e.gameId === faultGames.coins.gameId) {
      expectedByUser.set(e.userId, (expectedByUser.get(e.userId) ?? 0n) + faultGames.coins.coinsPerLevel);
    } else if (e.gameId === faultGames.capped.gameId) {
      const dayKey = `${e.userId}|${stored.get(key)?.day ?? today}`;
      const c = cappedLevels.get(dayKey) ?? { userId: e.userId, n: 0n };
      c.n++;
      cappedLevels.set(dayKey, c);
    }
  }
  for (const { userId, n } of cappedLevels.values()) {
    const { coinsPerLevel, dailyCoinCap } = faultGames.capped;
    const coins = n * coinsPerLevel < dailyCoinCap ? n * coinsPerLevel : dailyCoinCap;
    expectedByUser.set(userId, (expectedByUser.get(userId) ?? 0n) + coins);
  }
  let coinsExpected = 0n;
  for (const c of expectedByUser.values()) coinsExpected += c;

  const [ledger] = await pool.query<Row[]>(
    `SELECT l.user_id, l.game_id, l.event_id, l.amount, e.type, DATE_FORMAT(e.received_at, '%Y-%m-%d') AS day
       FROM coin_ledger l LEFT JOIN events e USING (user_id, game_id, event_id)`,
  );
  const ledgerKeys = new Set<string>();
  let ledgerDuplicates = 0;
  let ledgerInvalid = 0;
  let ledgerSum = 0n;
  const ledgerByUser = new Map<string, bigint>();
  const ledgerByDay = new Map<string, bigint>();
  for (const r of ledger) {
    const key = keyOf(r.user_id, r.game_id, r.event_id);
    if (ledgerKeys.has(key)) ledgerDuplicates++;
    ledgerKeys.add(key);
    const amount = BigInt(r.amount);
    const rules = rulesOf(r.game_id);
    const validAmount =
      rules !== undefined && amount > 0n && (rules.dailyCoinCap === 0n ? amount === rules.coinsPerLevel : amount <= rules.coinsPerLevel);
    if (r.type !== "LevelCompleted" || !validAmount) {
      ledgerInvalid++;
      if (examples.length < 10) examples.push(`ledger row ${key} amount ${r.amount} type ${r.type}`);
    }
    ledgerSum += amount;
    ledgerByUser.set(r.user_id, (ledgerByUser.get(r.user_id) ?? 0n) + amount);
    const dayKey = `${r.user_id}|${r.game_id}|${r.day}`;
    ledgerByDay.set(dayKey, (ledgerByDay.get(dayKey) ?? 0n) + amount);
  }

  const [wallets] = await pool.query<Row[]>("SELECT user_id, balance FROM wallets");
  let coinsPaid = 0n;
  const walletMismatches: string[] = [];
  const seen = new Set<string>();
  for (const w of wallets) {
    const balance = BigInt(w.balance);
    coinsPaid += balance;
    seen.add(w.user_id);
    const want = expectedByUser.get(w.user_id) ?? 0n;
    const fromLedger = ledgerByUser.get(w.user_id) ?? 0n;
    if (balance !== want || balance !== fromLedger) walletMismatches.push(`${w.user_id}: balance ${balance}, expected ${want}, ledger ${fromLedger}`);
  }
  for (const [userId, want] of expectedByUser) {
    if (!seen.has(userId) && want !== 0n) walletMismatches.push(`${userId}: no wallet, expected ${want}`);
  }

  const [totals] = await pool.query<Row[]>("SELECT user_id, game_id, DATE_FORMAT(day, '%Y-%m-%d') AS day, coins FROM coin_daily_totals");
  let dailyTotalMismatches = 0;
  const totalKeys = new Set<string>();
  for (const t of totals) {
    const dayKey = `${t.user_id}|${t.game_id}|${t.day}`;
    totalKeys.add(dayKey);
    if (BigInt(t.coins) !== (ledgerByDay.get(dayKey) ?? 0n)) dailyTotalMismatches++;
  }
  for (const [dayKey, coins] of ledgerByDay) if (!totalKeys.has(dayKey) && coins !== 0n) dailyTotalMismatches++;

  const [dead] = await pool.query<Row[]>("SELECT COUNT(*) AS n FROM dead_letters");
  const [deadErrors] = await pool.query<Row[]>("SELECT error, COUNT(*) AS n FROM dead_letters GROUP BY error ORDER BY n DESC LIMIT 3");
  for (const d of deadErrors) examples.push(`${d.n} dead letter(s): ${d.error}`);
  return {
    eventsExpected: expected.size,
    eventsStored: stored.size,
    missing,
    extra,
    wrongType,
    examples,
    coinsExpected,
    coinsPaid,
    ledgerRows: ledger.length,
    ledgerSum,
    ledgerDuplicates,
    ledgerInvalid,
    walletMismatches,
    dailyTotalMismatches,
    deadLetters: Number(dead[0]!.n),
  };
}

/** Fails with every discrepancy named when the audit is not exact. */
export function assertExact(audit: Audit): void {
  const problems: string[] = [];
  if (audit.missing) problems.push(`${audit.missing} accepted events missing`);
  if (audit.extra) problems.push(`${audit.extra} events stored that no accepted batch carried`);
  if (audit.wrongType) problems.push(`${audit.wrongType} events stored with another type`);
  if (audit.eventsStored !== audit.eventsExpected) problems.push(`stored ${audit.eventsStored} events, expected ${audit.eventsExpected}`);
  if (audit.ledgerDuplicates) problems.push(`${audit.ledgerDuplicates} events paid twice`);
  if (audit.ledgerInvalid) problems.push(`${audit.ledgerInvalid} invalid ledger rows`);
  if (audit.coinsPaid !== audit.coinsExpected) problems.push(`paid ${audit.coinsPaid} coins, expected ${audit.coinsExpected}`);
  if (audit.ledgerSum !== audit.coinsPaid) problems.push(`ledger sums to ${audit.ledgerSum}, wallets to ${audit.coinsPaid}`);
  if (audit.walletMismatches.length) problems.push(`wallets: ${audit.walletMismatches.slice(0, 5).join("; ")}`);
  if (audit.dailyTotalMismatches) problems.push(`${audit.dailyTotalMismatches} daily totals differ from the ledger`);
  if (audit.deadLetters) problems.push(`${audit.deadLetters} dead letters`);
  assert.deepEqual(problems, [], `not exactly once:\n  ${problems.join("\n  ")}\n  e.g. ${audit.examples.join("\n       ")}`);
}

/** Every key matching `pattern` (SCAN, so it does not block Redis). */
async function keysMatching(redis: Redis, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = "0";
  do {
    const [next, batch] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== "0");
  return keys;
}

/** The shard streams of `prefix` that exist (`<prefix>:events:{<shard>}`), whatever STREAM_SHARDS is. */
function shardStreams(redis: Redis, prefix: string): Promise<string[]> {
  return keysMatching(redis, `${streamKey(prefix, 0).replace(/\{0\}$/, "")}*`);
}

/** Entries in every shard stream, pending in the group, and in the dead-letter streams. */
export async function streamState(redis: Redis, prefix: string): Promise<{ length: number; pending: number; deadLetters: number }> {
  let length = 0;
  let pending = 0;
  for (const key of await shardStreams(redis, prefix)) {
    length += await redis.xlen(key);
    const summary = (await redis.xpending(key, consumerGroup).catch(() => [0])) as [number, ...unknown[]];
    pending += Number(summary[0]);
  }
  let deadLetters = 0;
  for (const key of await keysMatching(redis, `${deadLetterKey(prefix, 0).replace(/\{0\}$/, "")}*`)) deadLetters += await redis.xlen(key);
  return { length, pending, deadLetters };
}

/** Pending entries per consumer over every shard stream. */
export async function pendingByConsumer(redis: Redis, prefix: string): Promise<Map<string, number>> {
  const byConsumer = new Map<string, number>();
  for (const key of await shardStreams(redis, prefix)) {
    const summary = (await redis.xpending(key, consumerGroup).catch(() => [0])) as [number, unknown, unknown, Array<[string, string]> | null];
    for (const [consumer, n] of summary[3] ?? []) byConsumer.set(consumer, (byConsumer.get(consumer) ?? 0) + Number(n));
  }
  return byConsumer;
}

/** Entries pending under one consumer (what a killed worker held). */
export async function pendingOf(redis: Redis, prefix: string, consumer: string): Promise<number> {
  return (await pendingByConsumer(redis, prefix)).get(consumer) ?? 0;
}

/** Number of rows in `events`. */
export async function storedEvents(pool: Pool): Promise<number> {
  const [rows] = await pool.query<Row[]>("SELECT COUNT(*) AS n FROM events");
  return Number(rows[0]!.n);
}

/**
 * Waits until the stream is empty, nothing is pending and `events` holds at
 * least `expectedEvents` rows; returns how long it took.
 */
export async function waitDrained(
  pool: Pool,
  redis: Redis,
  prefix: string,
  expectedEvents: number,
  timeoutMs: number,
  context: () => string = () => "",
): Promise<number> {
  const started = Date.now();
  let last = { length: -1, pending: -1, deadLetters: -1 };
  let stored = -1;
  for (;;) {
    last = await streamState(redis, prefix);
    stored = await storedEvents(pool);
    if (last.length === 0 && last.pending === 0 && stored >= expectedEvents) return Date.now() - started;
    if (Date.now() - started > timeoutMs) {
      const keys = await redis.keys(`${prefix}:*`);
      assert.fail(
        `not drained after ${timeoutMs} ms: stream ${last.length}, pending ${last.pending}, stored ${stored} of ${expectedEvents}` +
          `\nkeys: ${keys.join(", ")}\n${context()}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
