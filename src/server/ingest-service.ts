import { toBinary, type DescMessage, type Message } from "@bufbuild/protobuf";
import { createContextKey, type ContextValues, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { IngestEventsRequestSchema, IngestService } from "../../gen/playsmart/ingest/v1/ingest_pb.js";
import { principalKey, principalOf, requirePlayer } from "../auth/principal.js";
import { scanEvents } from "../ingest/event-wire-scanner.js";
import type { AcceptedBatch, CheckedJsonBatch, IngestBatches } from "../ingest/ingest-batches.js";
import { requestToPlain } from "../ingest/request-to-plain.js";
import { createIngestWireMethod, type WireIngestEventsRequest } from "./ingest-wire-schema.js";
import type { BinaryRpc, JsonPrecheck } from "./rpc-adapter.js";
import { rawMessageKey } from "./raw-request.js";
import { requestInfoKey, type RequestInfo } from "./request-info.js";

/** `playsmart.ingest.v1.IngestService` over Connect, gRPC and gRPC-Web (JSON requests take this one). */
export function createIngestService(ingest: IngestBatches): ServiceImpl<typeof IngestService> {
  return {
    async ingestEvents(req, ctx) {
      // A body the adapter's precheck vouched for (the message is empty), handed
      // to connect because connect had to judge the call's headers.
      if (ctx.values.get(checkedJsonKey) !== undefined) return acceptChecked(ingest, ctx.values);
      const userId = requirePlayer(principalOf(ctx));
      // The bytes the client sent, when the adapter could keep them: queued as
      // received, like the REST body, instead of encoding the message again.
      const raw = ctx.values.get(rawMessageKey)?.message;
      const accepted = await ingest.accept(userId, {
        body: requestToPlain(req),
        format: raw?.format ?? "pb",
        encoded: () => raw?.bytes ?? Buffer.from(toBinary(IngestEventsRequestSchema, req)),
      }, traceOf(ctx.values));
      return answerOf(accepted);
    },
  };
}

/** The `IngestEventsResponse` of an accepted (or dry-run) batch. */
export function answerOf(accepted: AcceptedBatch): IngestEventsAnswer {
  return { batchId: accepted.batchId, accepted: accepted.accepted, dryRun: accepted.dryRun };
}

/** A Connect JSON body checked by {@link ingestJsonPrecheck}, for `ingestEvents`. */
const checkedJsonKey = createContextKey<CheckedJsonBatch | undefined>(undefined);

/**
 * The precheck of Connect JSON `IngestEvents` requests for rpc-adapter's
 * `jsonPrechecks`: a plain valid batch is checked on its bytes in one pass
 * (`checkConnectJson`) instead of being decoded by protobuf-es into Struct
 * trees, and queued as received; anything else is decoded by connect.
 */
export function ingestJsonPrecheck(ingest: IngestBatches): JsonPrecheck {
  return {
    method: IngestService.method.ingestEvents,
    precheck(body, values) {
      const checked = ingest.checkConnectJson(body);
      if (checked === undefined) return false;
      values.set(checkedJsonKey, checked);
      return true;
    },
  };
}

// Serves a call whose body the precheck vouched for (connect hands it an empty message).
async function acceptChecked(ingest: IngestBatches, values: ContextValues): Promise<IngestEventsAnswer> {
  const userId = requirePlayer(values.get(principalKey));
  const checked = values.get(checkedJsonKey);
  if (checked === undefined) throw new Error("IngestEvents: a prechecked call without its check");
  return answerOf(await ingest.acceptCheckedJson(userId, checked, traceOf(values)));
}

// The request span's context, which the append's span is a child of.
function traceOf(values: ContextValues): { trace: RequestInfo["traceContext"] } {
  return { trace: values.get(requestInfoKey)?.traceContext };
}

/** The response of {@link createIngestWireHandler}: an `IngestEventsResponse`. */
export type IngestEventsAnswer = { batchId: string; accepted: number; dryRun: boolean };

/**
 * `IngestEvents` for binary requests, decoded with the wire view of
 * `ingest-wire-schema.ts`: each event is read by the wire scanner, which checks
 * customdata without building it. Same contract as {@link createIngestService}.
 */
export function createIngestWireHandler(
  ingest: IngestBatches,
  requestSchema: DescMessage,
): (message: Message, ctx: Pick<HandlerContext, "values">) => Promise<IngestEventsAnswer> {
  return async (message, ctx) => {
    // The router decodes with requestSchema, the wire view: this shape.
    const req = message as WireIngestEventsRequest;
    const userId = requirePlayer(ctx.values.get(principalKey));
    const raw = ctx.values.get(rawMessageKey)?.message;
    // The client's bytes, when the adapter kept them (always on the gRPC fast
    // path, which leaves `message` undecoded), are checked and queued whole.
    const accepted =
      raw?.format === "pb"
        ? await ingest.acceptBinary(userId, raw.bytes, traceOf(ctx.values))
        : await ingest.accept(userId, {
            body: { user_id: req.userId, game_id: req.gameId, events: scanEvents(req.events), sent_at: req.sentAt, dry_run: req.dryRun },
            format: "pb",
            // A compressed call: the events are written back as they came
            // (bytes and Event share one encoding).
            encoded: () => Buffer.from(toBinary(requestSchema, req)),
          }, traceOf(ctx.values));
    return answerOf(accepted);
  };
}

/** The binary IngestEvents method for rpc-adapter's `binaryRpcs`: wire view and handler. */
export function ingestWireRpc(ingest: IngestBatches): BinaryRpc {
  const method = createIngestWireMethod();
  return { method, implementation: createIngestWireHandler(ingest, method.input), readsRawMessage: true };
}
