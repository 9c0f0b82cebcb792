/**
 * The drain baseline: the least a drain into MySQL can do. XREADGROUP a read's
 * worth of entries, turn their events into the same `events` rows the worker
 * writes, one multi-row INSERT (chunked like the worker's, in one transaction),
 * then XACK + XDEL in one MULTI. No coins, no wallets, no idempotency check, no
 * re-validation. `drain-1w` events/s divided by this one's is the price of
 * those guarantees.
 *
 *   REDIS_URL=... MYSQL_URL=mysql://root@127.0.0.1:3306/db STREAM_KEYS=k1,k2 \
 *     GROUP=raw CONSUMER=raw-1 READ_COUNT=100 node --import tsx bench/baselines/raw-drain.ts
 *
 * Prints "ready" once it can read and write; stops after its current read on SIGTERM.
 */
import { Redis } from "ioredis";
import { createConnection, type ResultSetHeader } from "mysql2/promise";

const keys = (process.env.STREAM_KEYS ?? "").split(",").filter(Boolean);
const group = process.env.GROUP ?? "raw";
const consumer = process.env.CONSUMER ?? `raw-${process.pid}`;
const readCount = Number(process.env.READ_COUNT ?? 100);
const blockMs = Number(process.env.BLOCK_MS ?? 200);
const redis = new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379");
const db = await createConnection({ uri: process.env.MYSQL_URL!, timezone: "Z", dateStrings: true });

const columns = "(user_id, game_id, event_id, type, custom_event_name, occurred_at, utc_offset_min, customdata, batch_id, received_at, stored_at)";
const rowSql = "(?,?,?,?,?,?,?,?,?,?,UTC_TIMESTAMP(3))";
const maxRows = 2000;

interface RawEvent {
  type: string;
  timestamp: string;
  customdata?: unknown;
  customEventName?: string;
  custom_event_name?: string;
  event_id?: string;
  eventId?: string;
}

// "2026-11-26T09:20:31.250+01:00" -> ["2026-11-26 08:20:31.250000", 60]
function utcDatetime(ts: string): [string, number] {
  const m = /(Z|([+-])(\d{2}):(\d{2}))$/.exec(ts);
  const offset = m && m[2] ? (m[2] === "-" ? -1 : 1) * (Number(m[3]) * 60 + Number(m[4])) : 0;
  const iso = new Date(Date.parse(ts)).toISOString();
  return [`${iso.slice(0, 10)} ${iso.slice(11, 23)}000`, offset];
}

function rowsOf(fields: Buffer[]): unknown[][] {
  const f = new Map<string, Buffer>();
  for (let i = 0; i + 1 < fields.length; i += 2) f.set(fields[i]!.toString("latin1"), fields[i + 1]!);
  const batchId = f.get("b")!.toString("latin1");
  const userId = f.get("u")!.toString("utf8");
  const gameId = f.get("g")!.toString("utf8");
  const received = new Date(Number(f.get("t")!.toString("latin1"))).toISOString();
  const receivedAt = `${received.slice(0, 10)} ${received.slice(11, 23)}`;
  const body = JSON.parse(f.get("d")!.toString("utf8")) as { events: RawEvent[] };
  return body.events.map((e, i) => {
    const [occurredAt, offset] = utcDatetime(e.timestamp);
    return [
      userId, gameId, e.event_id ?? e.eventId ?? `${batchId}:${i}`, e.type, e.customEventName ?? e.custom_event_name ?? null,
      occurredAt, offset, e.customdata == null ? null : JSON.stringify(e.customdata), batchId, receivedAt,
    ];
  });
}

async function insert(rows: unknown[][]): Promise<void> {
  const chunks: unknown[][][] = [];
  for (let i = 0; i < rows.length; i += maxRows) chunks.push(rows.slice(i, i + maxRows));
  if (chunks.length > 1) await db.query("BEGIN");
  for (const chunk of chunks) {
    await db.query<ResultSetHeader>(`INSERT INTO events ${columns} VALUES ${new Array(chunk.length).fill(rowSql).join(",")}`, chunk.flat());
  }
  if (chunks.length > 1) await db.query("COMMIT");
}

for (const k of keys) {
  try {
    await redis.xgroup("CREATE", k, group, "0", "MKSTREAM");
  } catch (err) {
    if (!String((err as Error).message).startsWith("BUSYGROUP")) throw err;
  }
}
let stopping = false;
process.on("SIGTERM", () => (stopping = true));
process.stdout.write("ready\n");

while (!stopping) {
  const reply = (await redis.xreadgroupBuffer(
    "GROUP", group, consumer, "COUNT", readCount, "BLOCK", blockMs, "STREAMS", ...keys, ...keys.map(() => ">"),
  )) as Array<[Buffer, Array<[Buffer, Buffer[]]>]> | null;
  if (reply === null) continue;
  const rows: unknown[][] = [];
  const acks = reply.map(([key, entries]) => {
    for (const [, fields] of entries) rows.push(...rowsOf(fields));
    return [key, entries.map(([id]) => id)] as const;
  });
  if (rows.length > 0) await insert(rows);
  const multi = redis.multi();
  for (const [key, ids] of acks) {
    multi.xack(key, group, ...ids);
    multi.xdel(key, ...ids);
  }
  await multi.exec();
}
await db.end();
redis.disconnect();
