/**
 * The format of one stream entry: one accepted batch. The request body is kept
 * as the client sent it (JSON text from REST, Protobuf binary from RPC) so the
 * gateway never re-encodes 200 events; the worker decodes and re-validates it.
 */

/** Body formats an entry can carry. */
export type EntryFormat = "json" | "pb";

/** Entry format version; bump when fields change meaning. */
export const entryVersion = "1";

/** One accepted batch as queued. */
export interface StreamBatch {
  /** Time-ordered UUIDv7 of the batch; missing event ids derive from it. */
  batchId: string;
  userId: string;
  gameId: string;
  /** When the gateway accepted the batch (epoch ms); the day of coin caps. */
  receivedAtMs: number;
  /** How {@link body} is encoded. */
  format: EntryFormat;
  /** The request body: JSON of the contract, or a binary `IngestEventsRequest`. */
  body: Buffer | string;
  /**
   * Receive time minus the batch's `sent_at`, in microseconds, when it had one:
   * what the worker adds to each timestamp for `corrected_at`. Optional field
   * `s`: entries without it (and workers that do not read it) stay valid.
   */
  clockSkewUs?: number;
  /**
   * W3C `traceparent` of the append's span, when that span was sampled: the
   * worker's commit span links to it. Optional field `p`, like `s`.
   */
  traceParent?: string;
}

/** An entry that can never be processed; it goes to the dead letters. */
export class PoisonEntryError extends Error {
  override name = "PoisonEntryError";
}

/** The XADD field list of a batch. */
export function encodeEntry(batch: StreamBatch): Array<string | Buffer> {
  const fields: Array<string | Buffer> = [
    "v", entryVersion,
    "b", batch.batchId,
    "u", batch.userId,
    "g", batch.gameId,
    "t", String(batch.receivedAtMs),
    "f", batch.format,
    "d", batch.body,
  ];
  if (batch.clockSkewUs !== undefined) fields.push("s", String(batch.clockSkewUs));
  if (batch.traceParent !== undefined) fields.push("p", batch.traceParent);
  return fields;
}

/**
 * Reads the field list of an entry as returned by `xreadgroupBuffer`.
 * @throws PoisonEntryError when a field is missing or malformed.
 */
export function decodeEntry(fields: Buffer[]): StreamBatch {
  const map = new Map<string, Buffer>();
  for (let i = 0; i + 1 < fields.length; i += 2) map.set(fields[i]!.toString("latin1"), fields[i + 1]!);
  const text = (name: string): string => {
    const v = map.get(name);
    if (v === undefined) throw new PoisonEntryError(`entry has no field "${name}"`);
    return v.toString("utf8");
  };
  const version = text("v");
  if (version !== entryVersion) throw new PoisonEntryError(`unknown entry version ${JSON.stringify(version)}`);
  const format = text("f");
  if (format !== "json" && format !== "pb") throw new PoisonEntryError(`unknown body format ${JSON.stringify(format)}`);
  const receivedAtMs = Number(text("t"));
  if (!Number.isSafeInteger(receivedAtMs) || receivedAtMs <= 0) throw new PoisonEntryError("bad receive time");
  const body = map.get("d");
  if (body === undefined) throw new PoisonEntryError('entry has no field "d"');
  const batch: StreamBatch = { batchId: text("b"), userId: text("u"), gameId: text("g"), receivedAtMs, format, body };
  const skew = map.get("s");
  if (skew !== undefined) {
    const clockSkewUs = Number(skew.toString("latin1"));
    if (!Number.isSafeInteger(clockSkewUs)) throw new PoisonEntryError("bad clock skew");
    batch.clockSkewUs = clockSkewUs;
  }
  // A bad trace context loses a link, not the batch: the worker just does not link it.
  const traceParent = map.get("p");
  if (traceParent !== undefined) batch.traceParent = traceParent.toString("latin1");
  return batch;
}

/** The id of an event the client sent without `event_id`. */
export function assignedEventId(batchId: string, index: number): string {
  return `${batchId}:${index}`;
}
