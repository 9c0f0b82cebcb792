import type { JsonObject } from "@bufbuild/protobuf";
import type { IngestEventsRequest } from "../../gen/playsmart/ingest/v1/ingest_pb.js";
import type { MeasuredCustomdata } from "./measured-customdata.js";

/** One event in the plain shape of the JSON contract. */
export interface PlainIngestEvent {
  type: string;
  timestamp: string;
  /** The decoded object, or its measure when a binary request was scanned on the wire. */
  customdata: JsonObject | MeasuredCustomdata | undefined;
  customEventName: string;
  event_id: string;
}

/** A request in the plain shape of the JSON contract, as `validateBatch` reads it. */
export interface PlainIngestRequest {
  user_id: string;
  game_id: string;
  events: PlainIngestEvent[];
  /** Empty when not set (proto3). */
  sent_at: string;
  dry_run: boolean;
}

/**
 * Turns a decoded `IngestEventsRequest` (Connect, gRPC, or a binary stream entry)
 * into the plain shape a REST body parses to, so one validator checks every
 * transport. Proto3 cannot tell an unset string from an empty one; empty strings
 * are passed on as they are and `validateBatch` reads them as "not set" where
 * the contract allows that. `customdata` is a google.protobuf.Struct, which
 * protobuf-es already represents as a plain JSON object.
 */
export function requestToPlain(msg: IngestEventsRequest): PlainIngestRequest {
  return {
    user_id: msg.userId,
    game_id: msg.gameId,
    events: msg.events.map((e) => ({
      type: e.type,
      timestamp: e.timestamp,
      customdata: e.customdata,
      customEventName: e.customEventName,
      event_id: e.eventId,
    })),
    sent_at: msg.sentAt,
    dry_run: msg.dryRun,
  };
}
