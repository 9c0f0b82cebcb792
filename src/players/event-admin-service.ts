import type { JsonObject, MessageInitShape } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { TimeField, type EventAdminService, type StoredEventSchema } from "../../gen/playsmart/admin/v1/events_pb.js";
import { principalOf, requireAdmin } from "../auth/principal.js";
import type { EventExplorer, EventTimeField } from "./event-explorer.js";
import type { StoredEventView } from "./stored-event.js";

/** Options of {@link createEventAdminService}. */
export interface EventAdminServiceOptions {
  explorer: EventExplorer;
}

/**
 * `playsmart.admin.v1.EventAdminService`: thin handlers over {@link EventExplorer},
 * for the admin token only.
 *
 * @example
 * router.service(EventAdminService, createEventAdminService({ explorer: createEventExplorer({ pool }) }));
 */
export function createEventAdminService(options: EventAdminServiceOptions): ServiceImpl<typeof EventAdminService> {
  const { explorer } = options;
  return {
    async listEvents(req, ctx) {
      requireAdmin(principalOf(ctx));
      const page = await explorer.list({
        userId: req.userId,
        gameId: req.gameId,
        type: req.type,
        timeField: timeFieldOf(req.timeField),
        since: req.since,
        until: req.until,
        pageSize: req.pageSize,
        pageToken: req.pageToken,
      });
      return { events: page.events.map(toEventMessage), nextPageToken: page.nextPageToken };
    },
  };
}

function timeFieldOf(field: TimeField): EventTimeField {
  return field === TimeField.CORRECTED ? "corrected" : "received";
}

/** A stored event as a `playsmart.admin.v1.StoredEvent` init shape. */
export function toEventMessage(e: StoredEventView): MessageInitShape<typeof StoredEventSchema> {
  return {
    eventId: e.eventId,
    gameId: e.gameId,
    type: e.type,
    customEventName: e.customEventName,
    timestamp: e.timestamp,
    correctedAt: e.correctedAt,
    receivedAt: e.receivedAt,
    batchId: e.batchId,
    ...(e.customdata !== undefined && { customdata: e.customdata as JsonObject }),
  };
}
