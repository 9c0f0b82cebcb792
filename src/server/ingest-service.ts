import { toBinary } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { IngestEventsRequestSchema, type IngestService } from "../../gen/playsmart/ingest/v1/ingest_pb.js";
import { principalOf, requirePlayer } from "../auth/principal.js";
import type { IngestBatches } from "../ingest/ingest-batches.js";
import { requestToPlain } from "../ingest/request-to-plain.js";
import { rawMessageKey } from "./raw-request.js";

/** `playsmart.ingest.v1.IngestService` over Connect, gRPC and gRPC-Web. */
export function createIngestService(ingest: IngestBatches): ServiceImpl<typeof IngestService> {
  return {
    async ingestEvents(req, ctx) {
      const userId = requirePlayer(principalOf(ctx));
      // The bytes the client sent, when the adapter could keep them: queued as
      // received, like the REST body, instead of encoding the message again.
      const raw = ctx.values.get(rawMessageKey)?.message;
      const accepted = await ingest.accept(userId, {
        body: requestToPlain(req),
        format: raw?.format ?? "pb",
        encoded: () => raw?.bytes ?? Buffer.from(toBinary(IngestEventsRequestSchema, req)),
      });
      return { batchId: accepted.batchId, accepted: accepted.accepted };
    },
  };
}
