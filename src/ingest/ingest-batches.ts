import { PermissionDeniedError } from "../errors.js";
import type { EntryFormat } from "../stream/stream-entry.js";
import type { StreamProducer } from "../stream/stream-producer.js";
import { uuidV7 } from "../stream/uuid-v7.js";
import { peekUserId, validateBatch } from "./validate-batch.js";

/** What a caller learns about an accepted batch. */
export interface AcceptedBatch {
  batchId: string;
  accepted: number;
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
  accept(callerUserId: string, request: IngestRequest): Promise<AcceptedBatch>;
}

/** Options of {@link createIngestBatches}. */
export interface IngestBatchesOptions {
  producer: StreamProducer;
  /** Clock, replaceable in tests. @default Date.now */
  now?: () => number;
}

/** Creates the ingest use case on a stream producer. */
export function createIngestBatches(options: IngestBatchesOptions): IngestBatches {
  const { producer } = options;
  const now = options.now ?? Date.now;
  return {
    async accept(callerUserId, request) {
      const claimed = peekUserId(request.body);
      // Ownership is checked before the events so another player's batch learns
      // nothing about its own validity.
      if (claimed !== undefined && claimed !== "" && claimed !== callerUserId) {
        throw new PermissionDeniedError("user_id does not match the token");
      }
      const batch = validateBatch(request.body);
      const receivedAtMs = now();
      const batchId = uuidV7(receivedAtMs);
      await producer.append({
        batchId,
        userId: batch.userId,
        gameId: batch.gameId,
        receivedAtMs,
        format: request.format,
        body: request.encoded(),
      });
      return { batchId, accepted: batch.events.length };
    },
  };
}
