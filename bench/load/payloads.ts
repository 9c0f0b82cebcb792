import { randomFillSync } from "node:crypto";
import { create, toBinary, type JsonObject } from "@bufbuild/protobuf";
import { IngestEventsRequestSchema } from "../../gen/playsmart/ingest/v1/ingest_pb.js";

/**
 * Realistic ingest batches, built once per player as a byte template with
 * placeholders where the event ids go; each request is a copy of its template
 * with fresh ids written in place. Building 200 events per request from objects
 * would cost the load generator more CPU than the server spends on them, and
 * the two share a 2-core machine.
 */

/** How the client names its events: random UUIDv4, time-ordered UUIDv7, or no id (the server assigns one). */
export type EventIdFormat = "uuid4" | "uuid7" | "none";

/** One event in the JSON shape of the contract. */
export interface PlainEvent {
  type: string;
  timestamp: string;
  customdata?: JsonObject;
  customEventName?: string;
  event_id?: string;
}

/** One batch in the JSON shape of the contract. */
export interface PlainBatch {
  user_id: string;
  game_id: string;
  events: PlainEvent[];
}

/** What stands where an event id will be written: 36 bytes, like a UUID, found by search. */
export const idPlaceholder = "~".repeat(36);

// 6 of 20 are LevelCompleted: the 30% coin-paying share the issue asks for.
const typeCycle = [
  "LevelCompleted", "AppOpen", "AdImpression", "LevelCompleted", "GameEnd",
  "Custom", "LevelCompleted", "AdImpression", "AppOpen", "LevelCompleted",
  "GameEnd", "AdImpression", "LevelCompleted", "Custom", "IAPPurchase",
  "AppOpen", "LevelCompleted", "GameEnd", "AdImpression", "Custom",
] as const;

const offsets = [0, 60, -300, 330, 120, -480, 540];

/** An RFC 3339 timestamp of `epochMs` written in the client offset `offsetMin`. */
export function clientTimestamp(epochMs: number, offsetMin: number): string {
  const local = new Date(epochMs + offsetMin * 60_000).toISOString().slice(0, 23);
  if (offsetMin === 0) return `${local}Z`;
  const abs = Math.abs(offsetMin);
  const hh = String(Math.floor(abs / 60)).padStart(2, "0");
  const mm = String(abs % 60).padStart(2, "0");
  return `${local}${offsetMin < 0 ? "-" : "+"}${hh}:${mm}`;
}

function customdataOf(type: string, n: number): JsonObject | undefined {
  switch (type) {
    case "LevelCompleted":
      return { level: 1 + (n % 120), score: 1000 + ((n * 37) % 9000), stars: 1 + (n % 3), duration_ms: 20_000 + ((n * 7919) % 90_000) };
    case "AppOpen":
      return { app_version: "3.12.1", os: n % 2 ? "android" : "ios", locale: "en_US", session: n };
    case "GameEnd":
      return { level: 1 + (n % 120), reason: n % 3 ? "quit" : "lost", duration_ms: 30_000 + ((n * 104_729) % 200_000) };
    case "AdImpression":
      return { network: "admob", placement: "level_end", format: "interstitial", revenue_usd: 0.0042 };
    case "IAPPurchase":
      return { sku: "coins_pack_500", price: 4.99, currency: "USD", store: "play" };
    case "Custom":
      return { chest: "gold", items: 1 + (n % 5), source: "daily_reward" };
    default:
      return undefined;
  }
}

/**
 * A batch of `size` events of one player and game. `seed` rotates the event
 * mix, so small batches of different players still average 30% LevelCompleted.
 * `eventId` names each event (undefined leaves the id out).
 */
export function sampleBatch(
  userId: string,
  gameId: string,
  size: number,
  seed: number,
  nowMs: number,
  eventId: (index: number) => string | undefined,
): PlainBatch {
  const events: PlainEvent[] = [];
  for (let i = 0; i < size; i++) {
    const n = seed * 7 + i;
    const type = typeCycle[n % typeCycle.length]!;
    const event: PlainEvent = {
      type,
      timestamp: clientTimestamp(nowMs - (size - i) * 1500 - (seed % 1000), offsets[n % offsets.length]!),
    };
    const customdata = customdataOf(type, n);
    if (customdata) event.customdata = customdata;
    if (type === "Custom") event.customEventName = "ChestOpened";
    const id = eventId(i);
    if (id !== undefined) event.event_id = id;
    events.push(event);
  }
  return { user_id: userId, game_id: gameId, events };
}

/** A batch as a binary `IngestEventsRequest`. */
export function encodeBatchPb(batch: PlainBatch): Uint8Array {
  return toBinary(
    IngestEventsRequestSchema,
    create(IngestEventsRequestSchema, {
      userId: batch.user_id,
      gameId: batch.game_id,
      events: batch.events.map((e) => ({
        type: e.type,
        timestamp: e.timestamp,
        ...(e.customdata ? { customdata: e.customdata } : {}),
        customEventName: e.customEventName ?? "",
        eventId: e.event_id ?? "",
      })),
    }),
  );
}

/** Offsets of every {@link idPlaceholder} in `bytes`. */
export function placeholderOffsets(bytes: Buffer): number[] {
  const found: number[] = [];
  for (let at = bytes.indexOf(idPlaceholder); at >= 0; at = bytes.indexOf(idPlaceholder, at + idPlaceholder.length)) {
    found.push(at);
  }
  return found;
}

const hex = Buffer.from("0123456789abcdef", "latin1");
const randomPool = Buffer.allocUnsafe(64 * 1024);
let randomAt = randomPool.length;

function randomByte(): number {
  if (randomAt >= randomPool.length) {
    randomFillSync(randomPool);
    randomAt = 0;
  }
  return randomPool[randomAt++]!;
}

// Writes 16 bytes as a dashed UUID (8-4-4-4-12) at `at`; the bytes come from `byteAt`.
function writeUuid(buf: Buffer, at: number, byteAt: (i: number) => number): void {
  let o = at;
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) buf[o++] = 0x2d; // '-'
    const b = byteAt(i);
    buf[o++] = hex[b >> 4]!;
    buf[o++] = hex[b & 15]!;
  }
}

/**
 * Writes a fresh id at each offset: a random UUIDv4 (what most mobile SDKs
 * generate), or a UUIDv7 whose first 48 bits are the current millisecond.
 */
export function writeEventIds(buf: Buffer, idOffsets: readonly number[], format: EventIdFormat, nowMs = Date.now()): void {
  if (format === "none") return;
  for (const at of idOffsets) {
    if (format === "uuid4") {
      writeUuid(buf, at, (i) => (i === 6 ? 0x40 | (randomByte() & 0x0f) : i === 8 ? 0x80 | (randomByte() & 0x3f) : randomByte()));
    } else {
      writeUuid(buf, at, (i) =>
        i < 6 ? Math.floor(nowMs / 2 ** (8 * (5 - i))) & 0xff : i === 6 ? 0x70 | (randomByte() & 0x0f) : i === 8 ? 0x80 | (randomByte() & 0x3f) : randomByte(),
      );
    }
  }
}

/** A fresh id string in `format` (for code that builds objects rather than templates). */
export function newEventId(format: Exclude<EventIdFormat, "none">, nowMs = Date.now()): string {
  const buf = Buffer.alloc(36);
  writeEventIds(buf, [0], format, nowMs);
  return buf.toString("latin1");
}
