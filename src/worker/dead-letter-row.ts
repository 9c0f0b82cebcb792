import type { DeadLetterRow } from "../store/dead-letters-repo.js";
import type { DeadLetterOut } from "./stream-consumer.js";

/** The `dead_letters` row of an entry given up on; the payload is its body. */
export function toDeadLetterRow(d: DeadLetterOut): DeadLetterRow {
  return {
    streamKey: d.entry.stream,
    entryId: d.entry.id,
    attempts: d.entry.deliveries,
    error: d.error,
    payload: bodyOf(d.entry.fields),
  };
}

// The request body (field "d") of an entry's field list, if it has one.
function bodyOf(fields: Buffer[] | null): Buffer | null {
  if (fields === null) return null;
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i]!.toString("latin1") === "d") return fields[i + 1]!;
  return null;
}
