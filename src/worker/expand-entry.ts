import { fromBinary } from "@bufbuild/protobuf";
import { IngestEventsRequestSchema } from "../../gen/playsmart/ingest/v1/ingest_pb.js";
import { ValidationError } from "../errors.js";
import { requestToPlain } from "../ingest/request-to-plain.js";
import { storableCustomdataDepth, type CustomdataLimits } from "../ingest/customdata-limits.js";
import { jsonBatchEventsOf, readJsonBatch, type JsonBatchEvents } from "../ingest/json-batch-check.js";
import { parseTimestamp } from "../ingest/timestamp.js";
import { toMysqlDatetime } from "../ingest/utc-datetime.js";
import { validateBatch } from "../ingest/validate-batch.js";
import type { EventRow } from "../store/events-repo.js";
import { assignedEventId, decodeEntry, PoisonEntryError, type StreamBatch } from "../stream/stream-entry.js";

/** An event row plus what the coin rules need that the row does not carry. */
export interface ExpandedEvent extends EventRow {
  receivedAtMs: number;
}

/** A stream entry turned into the rows it stores. */
export interface ExpandedEntry {
  batch: StreamBatch;
  events: ExpandedEvent[];
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const maxDatetimeMs = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

// The gateway already applied the configured limits; here only what MySQL
// cannot store is refused, so a stricter setting never dead-letters old entries.
const storableLimits: CustomdataLimits = { maxDepth: storableCustomdataDepth, maxBytes: Number.POSITIVE_INFINITY };

/**
 * Decodes one stream entry (fields as read by `xreadgroupBuffer`), checks its body
 * against the contract again, and expands it to event rows in the order of the
 * batch. Events without a client `event_id` get the id the gateway promised,
 * `<batch_id>:<index>`, so a redelivered entry yields the same ids.
 *
 * The gateway validated the batch already; validating again guards against a
 * different gateway version or a hand-made entry, and any failure here is
 * permanent, so it is a {@link PoisonEntryError}.
 *
 * @throws PoisonEntryError when the entry can never be stored.
 */
export function expandEntry(fields: Buffer[]): ExpandedEntry {
  const batch = decodeEntry(fields);
  if (!uuidPattern.test(batch.batchId)) throw new PoisonEntryError(`batch id ${JSON.stringify(batch.batchId)} is not a UUID`);
  if (batch.receivedAtMs > maxDatetimeMs) throw new PoisonEntryError("receive time out of range");
  const validated = validateBody(batch);
  if (validated.userId !== batch.userId) {
    throw new PoisonEntryError(`body user_id ${JSON.stringify(validated.userId)} differs from the entry's ${JSON.stringify(batch.userId)}`);
  }
  if (validated.gameId !== batch.gameId) {
    throw new PoisonEntryError(`body game_id ${JSON.stringify(validated.gameId)} differs from the entry's ${JSON.stringify(batch.gameId)}`);
  }
  const receivedAt = toMysqlDatetime(batch.receivedAtMs);
  const clockSkewUs = batch.clockSkewUs ?? 0;
  const events = validated.events.map((e, index): ExpandedEvent => {
    const instant = parseTimestamp(e.timestamp);
    // Checked above already: only a bug could get here.
    if (typeof instant === "string") throw new PoisonEntryError(`events[${index}].timestamp ${instant}`);
    return {
      userId: batch.userId,
      gameId: batch.gameId,
      eventId: e.eventId ?? assignedEventId(batch.batchId, index),
      type: e.type,
      customEventName: e.customEventName ?? null,
      occurredAt: toMysqlDatetime(instant.epochMs, instant.micros),
      utcOffsetMin: instant.offsetMinutes,
      customdata: e.customdataJson ?? null,
      batchId: batch.batchId,
      receivedAt,
      clockSkewUs,
      receivedAtMs: batch.receivedAtMs,
    };
  });
  return { batch, events };
}

function validateBody(batch: StreamBatch): JsonBatchEvents {
  const bytes = typeof batch.body === "string" ? Buffer.from(batch.body, "utf8") : batch.body;
  // Most JSON bodies are read in one pass over their bytes (a third of the
  // worker's CPU went to parsing, checking and writing them out again);
  // anything that check is not sure of goes the exact way below.
  if (batch.format === "json") {
    const quick = readJsonBatch(bytes, storableLimits);
    if (quick !== undefined) return quick;
  }
  let plain: unknown;
  if (batch.format === "json") {
    try {
      plain = JSON.parse(bytes.toString("utf8"));
    } catch (err) {
      throw new PoisonEntryError(`body is not JSON: ${(err as Error).message}`);
    }
  } else {
    try {
      plain = requestToPlain(fromBinary(IngestEventsRequestSchema, bytes));
    } catch (err) {
      throw new PoisonEntryError(`body is not a binary IngestEventsRequest: ${(err as Error).message}`);
    }
  }
  try {
    return jsonBatchEventsOf(validateBatch(plain, storableLimits));
  } catch (err) {
    if (err instanceof ValidationError) throw new PoisonEntryError(`body breaks the contract: ${err.message}`);
    throw err;
  }
}

/**
 * The events of several entries in stream order, each (user, game, event id)
 * once, the first copy winning: a batch resent within one read must not look
 * new twice. Events of one entry are unique already (validation refuses an id
 * twice, and assigned ids differ by index), so only entries of one player and
 * game can share one; the others are taken whole without a key per event.
 */
export function uniqueEvents(entries: readonly ExpandedEntry[]): ExpandedEvent[] {
  const groups = entries.map((entry) => `${entry.batch.userId}\u0000${entry.batch.gameId}`);
  const entriesOf = new Map<string, number>();
  for (const group of groups) entriesOf.set(group, (entriesOf.get(group) ?? 0) + 1);
  // Event ids seen so far, per player and game that has several entries.
  const seenIn = new Map<string, Set<string>>();
  const events: ExpandedEvent[] = [];
  for (const [i, entry] of entries.entries()) {
    const group = groups[i]!;
    if (entriesOf.get(group) === 1) {
      for (const e of entry.events) events.push(e);
      continue;
    }
    let seen = seenIn.get(group);
    if (seen === undefined) seenIn.set(group, (seen = new Set()));
    for (const e of entry.events) {
      if (seen.has(e.eventId)) continue;
      seen.add(e.eventId);
      events.push(e);
    }
  }
  return events;
}
