/**
 * The event explorer's query plans on a large table: grows `events` in a
 * database of its own to `--rows` (default 5M: one player with `--player-rows`
 * events, the rest spread over 100-event players), then prints MariaDB's
 * `ANALYZE FORMAT=JSON` of each listing the explorer runs (key, rows the
 * optimizer expected, rows it read, time) and drops the database.
 *
 *   node --import tsx bench/tools/explain-events.ts [--rows 5000000] [--player-rows 100000] [--keep]
 */
import { parseArgs } from "node:util";
import type { RowDataPacket } from "mysql2/promise";
import { toQuery, type ListEventsRequest } from "../../src/players/event-explorer.js";
import { encodePageToken } from "../../src/store/page-token.js";
import { migrate } from "../../src/store/migrate.js";
import { createMysqlPool } from "../../src/store/mysql-pool.js";
import { eventsPageStatement } from "../../src/store/player-events-repo.js";
import { seedEvents } from "../lib/seed-events.js";

const { values: args } = parseArgs({
  options: {
    rows: { type: "string", default: "5000000" },
    "player-rows": { type: "string", default: "100000" },
    keep: { type: "boolean", default: false },
    mysql: { type: "string", default: "mysql://root@127.0.0.1:3306" },
  },
});
const rows = Number(args.rows);
const playerRows = Number(args["player-rows"]);
const database = `playsmart_explain_${process.pid}`;
const url = `${args.mysql}/${database}`;
const target = "explain-player";

// Two games, the six types in turn, one event per second from 2026-11-01 (wrapping after 100,000).
const explainEvent = {
  gameSql: "IF(seq % 2 = 0, 'com.explain.a', 'com.explain.b')",
  typeSql: "ELT(1 + seq % 6, 'AppOpen', 'LevelCompleted', 'GameEnd', 'AdImpression', 'IAPPurchase', 'Custom')",
  timeSql: "TIMESTAMP'2026-11-01 00:00:00' + INTERVAL (seq % 100000) SECOND",
  eventIdSql: "CONCAT('e', seq)",
  customdataSql: "NULL",
};

await migrate(url);
const pool = createMysqlPool({ url, connectionLimit: 1 });
try {
  const started = Date.now();
  // The target player's events, then everyone else's: 100 per player, the
  // player id from the row number.
  await seedEvents(pool, { count: playerRows, userSql: "?", params: [target], ...explainEvent });
  await seedEvents(pool, { count: rows - playerRows, userSql: "CONCAT('p', seq DIV 100)", ...explainEvent });
  process.stderr.write(`  ${rows.toLocaleString("en-US")} rows in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  await pool.query("ANALYZE TABLE events");
  const [[info]] = (await pool.query<RowDataPacket[]>("SELECT COUNT(*) AS n FROM events")) as unknown as [RowDataPacket[]];
  console.log(`events: ${Number(info!.n).toLocaleString("en-US")} rows, ${playerRows.toLocaleString("en-US")} of them the listed player's; MariaDB ${await version()}`);
  console.log("");
  console.log("| listing | key | rows expected | rows read | ms |");
  console.log("|---|---|---|---|---|");
  const base: ListEventsRequest = { userId: target, gameId: "", type: "", timeField: "received", since: "", until: "", pageSize: 20, pageToken: "" };
  const cursor = encodePageToken("received|2026-11-01 12:00:00.000|50000");
  const listings: Array<[string, Partial<ListEventsRequest>]> = [
    ["newest 20 by receive time", {}],
    ["page 2500 by cursor", { pageToken: cursor }],
    ["one game", { gameId: "com.explain.b" }],
    ["one type", { type: "LevelCompleted" }],
    ["a receive-time range", { since: "2026-11-01T06:00:00Z", until: "2026-11-01T07:00:00Z" }],
    ["a corrected-time range", { timeField: "corrected", since: "2026-11-01T06:00:00Z", until: "2026-11-01T07:00:00Z" }],
    ["another player's 100", { userId: "p1234" }],
  ];
  for (const [name, change] of listings) {
    const { sql, values } = eventsPageStatement(toQuery({ ...base, ...change }));
    const [[plan]] = (await pool.query<RowDataPacket[]>(`ANALYZE FORMAT=JSON ${sql}`, values)) as unknown as [RowDataPacket[]];
    const json = JSON.parse(Object.values(plan!)[0] as string) as { query_block: { r_total_time_ms?: number; table?: Table; nested_loop?: Array<{ table: Table }> } };
    const table = json.query_block.table ?? json.query_block.nested_loop?.[0]?.table;
    const sorted = JSON.stringify(json).includes("filesort") ? " (filesort!)" : "";
    console.log(`| ${name} | ${table?.key}${sorted} | ${table?.rows} | ${table?.r_rows} | ${json.query_block.r_total_time_ms?.toFixed(2)} |`);
  }
} finally {
  if (!args.keep) await pool.query(`DROP DATABASE ${database}`);
  await pool.end();
}

interface Table {
  key?: string;
  rows?: number;
  r_rows?: number;
}


async function version(): Promise<string> {
  const [[r]] = (await pool.query<RowDataPacket[]>("SELECT VERSION() AS v")) as unknown as [RowDataPacket[]];
  return r!.v as string;
}
