import type { DeadLetterRow } from "../store/dead-letters-repo.js";
import type { DeadLetterOut } from "./stream-consumer.js";

/** The `dead_letters` row of an entry given up on; the payload is its body. */
export function toDeadLetterRow(d: DeadLetterOut): DeadLetterRow {
  return {
    streamKey: d.entry.stream,
    entryId: d.entry.id,
    attempts: d.entry.deliveries,
    error: d.error,
    payload: fieldOf(d.entry.fields, "d"),
    userId: userOfDeadLetter(d),
  };
}

/** The player of a dead letter (its entry's field `u`), when the entry has one. */
export function userOfDeadLetter(d: DeadLetterOut): string | null {
  return fieldOf(d.entry.fields, "u")?.toString("utf8") ?? null;
}

// One field of an entry's field list, if it has it.
function fieldOf(fields: Buffer[] | null, name: string): Buffer | null {
  if (fields === null) return null;
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i]!.toString("latin1") === name) return fields[i + 1]!;
  return null;
}
