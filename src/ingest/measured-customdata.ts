import { fromBinary } from "@bufbuild/protobuf";
import { EventSchema } from "../../gen/playsmart/ingest/v1/ingest_pb.js";
import { customdataProblem, type CustomdataLimits } from "./customdata-limits.js";

/**
 * An event's `customdata` as the binary wire scanner measured it, standing in
 * for the JSON object protobuf-es would have built. `validateBatch` asks it for
 * its problem instead of walking an object.
 *
 * The figures are exact only for a regular encoding: one `customdata` field,
 * every map key once (and no `__proto__`, which a JS object cannot hold as a
 * plain key), one kind per Value, 0 or 1 as booleans, finite numbers. Anything
 * else (legal Protobuf, but not what a client library writes for JSON data, or
 * a number JSON cannot carry) is `regular: false`, and the verdict then comes
 * from decoding the event with protobuf-es after all, so the answer is the
 * same as the generic path's, message included.
 */
export class MeasuredCustomdata {
  constructor(
    /** Deepest nesting of objects and arrays; the customdata itself is 1. */
    readonly depth: number,
    /** Size as JSON text, counted as `customdataProblem` counts it. */
    readonly jsonBytes: number,
    /** Whether depth and size are exact and no number is out of range. */
    readonly regular: boolean,
    /** The request bytes and the range of the encoded Event in them, for the exact fallback. */
    private readonly buf: Uint8Array,
    private readonly eventStart: number,
    private readonly eventEnd: number,
  ) {}

  /** Why this customdata breaks `limits`, or undefined: what `customdataProblem` says of the decoded object. */
  problem(limits: CustomdataLimits): string | undefined {
    // Within the limits nothing can fail, and no walk order can matter.
    if (this.regular && this.depth <= limits.maxDepth && this.jsonBytes <= limits.maxBytes) return undefined;
    // Which limit a walk meets first depends on the decoded object's key order
    // (integer-like keys first), so the message comes from the object itself.
    const decoded = fromBinary(EventSchema, this.buf.subarray(this.eventStart, this.eventEnd)).customdata;
    return decoded === undefined ? undefined : customdataProblem(decoded, limits);
  }
}
