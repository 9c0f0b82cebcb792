import { fromBinary } from "@bufbuild/protobuf";
import { IngestEventsRequestSchema } from "../../gen/playsmart/ingest/v1/ingest_pb.js";
import { ValidationError } from "../errors.js";
import { requestToPlain } from "../ingest/request-to-plain.js";
import { storableCustomdataDepth } from "../ingest/customdata-limits.js";
import { toMysqlDatetime } from "../ingest/utc-datetime.js";
import { validateBatch, type IngestBatch } from "../ingest/validate-batch.js";
import { eventKeyString, type EventRow } from "../store/events-repo.js";
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
  const events = validated.events.map((e, index): ExpandedEvent => ({
    userId: batch.userId,
    gameId: batch.gameId,
    eventId: e.eventId ?? assignedEventId(batch.batchId, index),
    type: e.type,
    customEventName: e.customEventName ?? null,
    occurredAt: toMysqlDatetime(e.instant.epochMs, e.instant.micros),
    utcOffsetMin: e.instant.offsetMinutes,
    customdata: e.customdata === undefined ? null : JSON.stringify(e.customdata),
    batchId: batch.batchId,
    receivedAt,
    receivedAtMs: batch.receivedAtMs,
  }));
  return { batch, events };
}

function validateBody(batch: StreamBatch): IngestBatch {
  const bytes = typeof batch.body === "string" ? Buffer.from(batch.body, "utf8") : batch.body;
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
    // The gateway already applied the configured limits; here only what MySQL
    // cannot store is refused, so a stricter setting never dead-letters old entries.
    return validateBatch(plain, { maxDepth: storableCustomdataDepth, maxBytes: Number.POSITIVE_INFINITY });
  } catch (err) {
    if (err instanceof ValidationError) throw new PoisonEntryError(`body breaks the contract: ${err.message}`);
    throw err;
  }
}

/**
 * The events of several entries in stream order, each (user, game, event id)
 * once, the first copy winning: a batch resent within one read must not look
 * new twice.
 */
export function uniqueEvents(entries: readonly ExpandedEntry[]): ExpandedEvent[] {
  const seen = new Set<string>();
  const events: ExpandedEvent[] = [];
  for (const entry of entries) {
    for (const e of entry.events) {
      const key = eventKeyString(e);
      if (seen.has(key)) continue;
      seen.add(key);
      events.push(e);
    }
  }
  return events;
}
