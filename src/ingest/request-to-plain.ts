import type { IngestEventsRequest } from "../../gen/playsmart/ingest/v1/ingest_pb.js";

/**
 * A decoded `IngestEventsRequest` in the plain JSON shape of the contract, so the
 * one validator serves REST bodies and RPC messages alike. Proto3 writes unset
 * strings as "", which the validator reads as absent where the field is optional.
 */
export function requestToPlain(msg: IngestEventsRequest): Record<string, unknown> {
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
  };
}
