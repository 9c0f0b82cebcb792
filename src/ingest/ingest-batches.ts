import type { Context } from "@opentelemetry/api";
import { BufferFullError, PermissionDeniedError, RateLimitedError, UnavailableError, ValidationError } from "../errors.js";
import type { EntryFormat, StreamBatch } from "../stream/stream-entry.js";
import type { StreamProducer } from "../stream/stream-producer.js";
import { uuidV7 } from "../stream/uuid-v7.js";
import { clockSkewProblem, clockSkewUs } from "./clock-skew.js";
import { defaultCustomdataLimits, type CustomdataLimits } from "./customdata-limits.js";
import { scanRequest } from "./event-wire-scanner.js";
import { checkBatch, peekUserId, type BatchSummary } from "./validate-batch.js";
import { checkJsonBatch, checkProtoJsonBatch } from "./json-batch-check.js";
import { parseJsonBody } from "./json-body.js";
import { checkWireBatch } from "./wire-batch-check.js";

/** What a caller learns about an accepted batch. */
export interface AcceptedBatch {
  /** Empty for a dry run, which queues nothing. */
  batchId: string;
  accepted: number;
  /** True when the batch was only checked (a dry run): nothing was queued. */
  dryRun: boolean;
}

/** Per-call options of the accept methods. */
export interface AcceptOptions {
  /** Check only, as the batch's own `dry_run` field asks (REST's `?dry_run=true`). */
  dryRun?: boolean;
  /** The request's trace context (its span), with tracing on: the append's span is its child. */
  trace?: Context | undefined;
}

/** A request body in two forms: decoded for checks, encoded for the stream. */
export interface IngestRequest {
  /** The body as plain JSON values (a `JSON.parse` result or a converted message). */
  body: unknown;
  /** How {@link encoded} is written. */
  format: EntryFormat;
  /**
   * The bytes to queue, called only once the batch is valid. The REST route hands
   * back the raw body it received, so nothing is re-encoded.
   */
  encoded: () => Buffer | string;
}

/** The ingest use case, shared by every transport. */
export interface IngestBatches {
  /**
   * Checks that the caller owns the batch, validates it whole, and appends it as
   * one stream entry.
   * @throws PermissionDeniedError, ValidationError, UnavailableError
   */
  accept(callerUserId: string, request: IngestRequest, options?: AcceptOptions): Promise<AcceptedBatch>;
  /**
   * {@link accept} for a binary `IngestEventsRequest` exactly as received, queued
   * as it is. A plain valid batch is checked on its bytes in one pass
   * (`checkWireBatch`); anything else is scanned and checked as `accept` does,
   * so every answer and error is the same.
   * @throws ValidationError (also for malformed wire data), PermissionDeniedError, UnavailableError
   */
  acceptBinary(callerUserId: string, bytes: Uint8Array, options?: AcceptOptions): Promise<AcceptedBatch>;
  /**
   * {@link accept} for a JSON body exactly as received (REST), queued as it is.
   * A plain valid batch is checked on its bytes in one pass (`checkJsonBatch`);
   * anything else is parsed and checked as `accept` does, so every answer and
   * error is the same.
   * @throws ValidationError (also for a body that is not UTF-8 JSON), PermissionDeniedError, UnavailableError
   */
  acceptJson(callerUserId: string, body: Buffer, options?: AcceptOptions): Promise<AcceptedBatch>;
  /**
   * The one-pass check of a Connect JSON body (`checkProtoJsonBatch`), before
   * the caller is known: what {@link acceptCheckedJson} takes, or undefined when
   * not sure (connect then parses the body and {@link accept} checks it).
   */
  checkConnectJson(body: Buffer): CheckedJsonBatch | undefined;
  /**
   * {@link accept} for a body {@link checkConnectJson} was sure of, queued as it
   * is: the same answers and errors as connect's parse and `accept` give it.
   * @throws PermissionDeniedError, ValidationError, UnavailableError
   */
  acceptCheckedJson(callerUserId: string, checked: CheckedJsonBatch, options?: AcceptOptions): Promise<AcceptedBatch>;
}

/** A valid JSON batch and its summary, made by {@link IngestBatches.checkConnectJson} only. */
export interface CheckedJsonBatch {
  readonly summary: BatchSummary;
  readonly body: Buffer;
}

/** Why a batch was refused, or that it was accepted or only checked (metric label values). */
export type IngestOutcome = "accepted" | "dry_run" | "invalid" | "forbidden" | "unavailable" | "rate_limited" | "buffer_full";

/** Receives what happened to each batch (metrics). */
export interface IngestObserver {
  observeIngest(outcome: IngestOutcome, events: number): void;
  observeAppend(seconds: number): void;
}

/** Options of {@link createIngestBatches}. */
export interface IngestBatchesOptions {
  producer: StreamProducer;
  observer?: IngestObserver;
  /** CUSTOMDATA_MAX_DEPTH and CUSTOMDATA_MAX_BYTES. @default defaultCustomdataLimits */
  customdataLimits?: CustomdataLimits;
  /** Clock, replaceable in tests. @default Date.now */
  now?: () => number;
}

/** Creates the ingest use case on a stream producer. */
export function createIngestBatches(options: IngestBatchesOptions): IngestBatches {
  const { producer, observer } = options;
  const limits = options.customdataLimits ?? defaultCustomdataLimits;
  const now = options.now ?? Date.now;

  // Awaits the append holding only the entry and a count. The decoded body and
  // the validated events are garbage by then: kept alive across the Redis round
  // trip, as they were when this was one async function, they outlived young-
  // generation collections and were promoted, which made GC the largest cost.
  const append = async (entry: StreamBatch, accepted: number, trace: Context | undefined): Promise<AcceptedBatch> => {
    const started = performance.now();
    await producer.append(entry, accepted, trace);
    observer?.observeAppend((performance.now() - started) / 1000);
    return { batchId: entry.batchId, accepted, dryRun: false };
  };

  // A valid batch: queued, or for a dry run answered without touching Redis (so
  // neither the stream nor the player's rate allowance sees it).
  const settle = (summary: BatchSummary, format: EntryFormat, body: () => Buffer | string, receivedAtMs: number, options: AcceptOptions | undefined) => {
    const dryRun = options?.dryRun === true;
    if (dryRun || summary.dryRun === true) return Promise.resolve({ batchId: "", accepted: summary.eventCount, dryRun: true });
    const entry: StreamBatch = { batchId: uuidV7(receivedAtMs), userId: summary.userId, gameId: summary.gameId, receivedAtMs, format, body: body() };
    if (summary.sentAt !== undefined) entry.clockSkewUs = clockSkewUs(summary.sentAt, receivedAtMs);
    return append(entry, summary.eventCount, options?.trace);
  };

  const accept = (callerUserId: string, request: IngestRequest, options: AcceptOptions | undefined): Promise<AcceptedBatch> => {
    const claimed = peekUserId(request.body);
    // Ownership is checked before the events so another player's batch learns
    // nothing about its own validity.
    if (claimed !== undefined && claimed !== "" && claimed !== callerUserId) {
      throw new PermissionDeniedError("user_id does not match the token");
    }
    const receivedAtMs = now();
    const batch = checkBatch(request.body, limits, receivedAtMs);
    return settle(batch, request.format, request.encoded, receivedAtMs, options);
  };

  // The one-pass checks answer only for a valid batch of the caller's own;
  // every other request, errors included, takes the path of `accept`. A wire
  // or JSON syntax error is thrown before the ownership check, as the decoding
  // of a Connect request is, and is not counted as an ingest outcome either.
  const mine = (summary: BatchSummary | undefined, callerUserId: string) => (summary !== undefined && summary.userId === callerUserId ? summary : undefined);
  const binaryRequest = (bytes: Uint8Array): IngestRequest => ({ body: scanRequest(bytes), format: "pb", encoded: () => asBuffer(bytes) });
  const jsonRequest = (body: Buffer): IngestRequest => ({ body: parseJsonBody(body), format: "json", encoded: () => body });

  // One request in either encoding: the quick summary, or the exact path.
  const acceptEncoded = (
    callerUserId: string,
    quickSummary: () => BatchSummary | undefined,
    exactRequest: () => IngestRequest,
    format: EntryFormat,
    bytes: Buffer,
    options: AcceptOptions | undefined,
  ): Promise<AcceptedBatch> => {
    let summary: BatchSummary | undefined;
    let request: IngestRequest | undefined;
    // One receive time for the sent_at check and the entry, as on the exact path.
    const receivedAtMs = now();
    try {
      summary = mine(quickSummary(), callerUserId);
      // A sent_at too far from the receive time: the exact path gives the reason.
      if (summary?.sentAt !== undefined && clockSkewProblem(summary.sentAt, receivedAtMs) !== undefined) summary = undefined;
      if (summary === undefined) request = exactRequest();
    } catch (err) {
      return Promise.reject(err);
    }
    if (summary !== undefined) {
      const quick = summary;
      return run(() => settle(quick, format, () => bytes, receivedAtMs, options), quick.eventCount);
    }
    const slow = request!;
    return run(() => accept(callerUserId, slow, options), eventCount(slow.body));
  };

  // Runs one request up to its append and, with an observer, reports its
  // outcome with the batch's event count. A synchronous throw (a refusal found
  // before the append) becomes a rejection like the append's own. The count is
  // a number taken beforehand: a callback reading the body would keep it alive
  // across the append (see `append`).
  const run = (start: () => Promise<AcceptedBatch>, events: number): Promise<AcceptedBatch> => {
    let result: Promise<AcceptedBatch>;
    try {
      result = start();
    } catch (err) {
      result = Promise.reject(err);
    }
    if (observer === undefined) return result;
    return result.then(
      (accepted) => {
        observer.observeIngest(accepted.dryRun ? "dry_run" : "accepted", accepted.accepted);
        return accepted;
      },
      (err: unknown) => {
        const outcome = outcomeOf(err);
        if (outcome) observer.observeIngest(outcome, events);
        throw err;
      },
    );
  };

  return {
    accept: (callerUserId, request, options) => run(() => accept(callerUserId, request, options), eventCount(request.body)),
    acceptBinary: (callerUserId, bytes, options) =>
      acceptEncoded(callerUserId, () => checkWireBatch(bytes, limits), () => binaryRequest(bytes), "pb", asBuffer(bytes), options),
    acceptJson: (callerUserId, body, options) =>
      acceptEncoded(callerUserId, () => checkJsonBatch(body, limits), () => jsonRequest(body), "json", body, options),
    checkConnectJson: (body) => {
      const summary = checkProtoJsonBatch(body, limits);
      return summary && { summary, body };
    },
    // A sure batch has a user_id; another player's takes `accept`'s path, which
    // refuses it before anything else, as for a message connect decoded.
    acceptCheckedJson: (callerUserId, { summary, body }, options) =>
      acceptEncoded(callerUserId, () => summary, () => jsonRequest(body), "json", body, options),
  };
}

// The bytes as a Buffer without a copy (the stream client writes Buffers as they are).
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function outcomeOf(err: unknown): IngestOutcome | undefined {
  if (err instanceof ValidationError) return "invalid";
  if (err instanceof PermissionDeniedError) return "forbidden";
  if (err instanceof RateLimitedError) return "rate_limited";
  if (err instanceof BufferFullError) return "buffer_full";
  if (err instanceof UnavailableError) return "unavailable";
  return undefined;
}

function eventCount(body: unknown): number {
  const events = typeof body === "object" && body !== null ? (body as { events?: unknown }).events : undefined;
  return Array.isArray(events) ? events.length : 0;
}
