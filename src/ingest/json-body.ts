import { isUtf8 } from "node:buffer";
import { ValidationError } from "../errors.js";

/**
 * A JSON request body as plain values. An object with a repeated key reads as
 * its last value, as JSON.parse (and so the worker, and Protobuf JSON) reads it.
 *
 * @throws ValidationError on the field `body` when it is not UTF-8 or not JSON.
 */
export function parseJsonBody(raw: Buffer): unknown {
  // Invalid UTF-8 is refused rather than read as U+FFFD and stored altered
  // (isUtf8 is a native scan, cheaper than a fatal TextDecoder).
  if (!isUtf8(raw)) throw new ValidationError([{ index: -1, field: "body", reason: "is not valid UTF-8" }]);
  try {
    return JSON.parse(raw.toString("utf8"));
  } catch {
    throw new ValidationError([{ index: -1, field: "body", reason: "is not valid JSON" }]);
  }
}
