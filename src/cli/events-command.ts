import { create, toJson } from "@bufbuild/protobuf";
import { parseArgs } from "node:util";
import { StoredEventSchema } from "../../gen/playsmart/admin/v1/events_pb.js";
import type { Config } from "../config.js";
import { ValidationError } from "../errors.js";
import { toEventMessage } from "../players/event-admin-service.js";
import { createEventExplorer, maxEventsPageSize, type EventTimeField } from "../players/event-explorer.js";
import type { StoredEventView } from "../players/stored-event.js";
import { migrate } from "../store/migrate.js";
import { createMysqlPool } from "../store/mysql-pool.js";

const usage = `Usage:
  playsmart events list --user <user_id> [--game <game_id>] [--type <type>]
                        [--since <RFC 3339>] [--until <RFC 3339>] [--by received|corrected]
                        [--limit N | --all] [--json]
      one player's stored events, newest first by receive time (--by corrected: by the
      event's corrected time, which --since/--until then bound); --limit defaults to 20;
      prints a table, or with --json one StoredEvent per line (Protobuf JSON)`;

/**
 * `playsmart events list`: the event explorer straight against MySQL, for
 * operators. Returns the exit code: 0 done, 2 bad command line or values.
 */
export async function runEventsCommand(
  args: string[],
  config: Config,
  out: (line: string) => void,
  err: (line: string) => void = (line) => process.stderr.write(line + "\n"),
): Promise<number> {
  let parsed;
  try {
    if (args[0] !== "list") throw new Error(args[0] === undefined || args[0] === "--help" ? "" : `unknown subcommand ${JSON.stringify(args[0])}`);
    parsed = parseArgs({
      args: args.slice(1),
      options: {
        user: { type: "string" },
        game: { type: "string", default: "" },
        type: { type: "string", default: "" },
        since: { type: "string", default: "" },
        until: { type: "string", default: "" },
        by: { type: "string", default: "received" },
        limit: { type: "string", default: "20" },
        all: { type: "boolean", default: false },
        json: { type: "boolean", default: false },
      },
      strict: true,
      allowPositionals: false,
    }).values;
    if (parsed.user === undefined) throw new Error("--user is required");
    if (parsed.by !== "received" && parsed.by !== "corrected") throw new Error("--by is received or corrected");
    if (!/^[1-9]\d{0,8}$/.test(parsed.limit)) throw new Error("--limit needs a whole number of 1 or more");
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    if (message === "") {
      out(usage);
      return 0;
    }
    err(`playsmart events: ${message}\n${usage}`);
    return 2;
  }
  const { user, game, type, since, until, json, all } = parsed;
  const timeField = parsed.by as EventTimeField;
  const limit = all ? Infinity : Number(parsed.limit);

  await migrate(config.mysqlUrl);
  const pool = createMysqlPool({ url: config.mysqlUrl, connectionLimit: 1 });
  try {
    const explorer = createEventExplorer({ pool });
    const rows: StoredEventView[] = [];
    let printed = 0;
    let pageToken = "";
    do {
      const pageSize = Math.min(maxEventsPageSize, limit - printed);
      const page = await explorer.list({ userId: user!, gameId: game, type, timeField, since, until, pageSize, pageToken });
      for (const e of page.events) {
        if (json) out(JSON.stringify(toJson(StoredEventSchema, create(StoredEventSchema, toEventMessage(e)), { useProtoFieldName: true })));
        else rows.push(e);
      }
      printed += page.events.length;
      pageToken = page.nextPageToken;
    } while (pageToken !== "" && printed < limit);
    if (!json) out(formatTable(rows, timeField));
    return 0;
  } catch (e) {
    if (e instanceof ValidationError) {
      for (const v of e.violations) err(`playsmart events: ${v.field}: ${v.reason}`);
      return 2;
    }
    throw e;
  } finally {
    await pool.end();
  }
}

function formatTable(events: readonly StoredEventView[], by: EventTimeField): string {
  if (events.length === 0) return "no events";
  const header = [by === "received" ? "received_at" : "corrected_at", "game_id", "type", "event_id", "customdata"];
  const body = events.map((e) => [
    by === "received" ? e.receivedAt : e.correctedAt,
    e.gameId,
    e.type === "Custom" ? `Custom:${e.customEventName}` : e.type,
    e.eventId,
    clip(e.customdata === undefined ? "" : JSON.stringify(e.customdata), 60),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("  ").trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...body.map(line)].join("\n");
}

function clip(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}
