import { createContextKey } from "@connectrpc/connect";
import type { EntryFormat } from "../stream/stream-entry.js";

/** The request message as the client sent it, when it can be queued as is. */
export interface RawMessage {
  format: EntryFormat;
  bytes: Buffer;
}

/** Per-request holder, filled once the request body has been read. */
export interface RawMessageHolder {
  message?: RawMessage;
}

/**
 * Carries the raw request message from the adapter to the handler, so the
 * ingest RPC queues the bytes it received instead of re-encoding the decoded
 * message (re-encoding 200 events with Struct fields costs more than decoding).
 */
export const rawMessageKey = createContextKey<RawMessageHolder | undefined>(undefined);

/**
 * Passes `body` through unchanged and, once it ends, stores the single message it
 * carried in `holder`: a gRPC or gRPC-Web envelope without compression, or a
 * Connect unary body (binary or JSON) without Content-Encoding. Anything else
 * (compression, several envelopes, other codecs) leaves the holder empty and the
 * handler re-encodes.
 */
export async function* captureRawMessage(
  body: AsyncIterable<Uint8Array>,
  contentType: string,
  contentEncoding: string | null,
  holder: RawMessageHolder,
): AsyncIterable<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of body) {
    chunks.push(chunk);
    yield chunk;
  }
  const ct = contentType.toLowerCase().split(";")[0]!.trim();
  const buf = chunks.length === 1 ? Buffer.from(chunks[0]!.buffer, chunks[0]!.byteOffset, chunks[0]!.byteLength) : Buffer.concat(chunks);
  const plain = contentEncoding === null || contentEncoding === "identity";
  if (ct === "application/grpc" || ct === "application/grpc+proto" || ct === "application/grpc-web" || ct === "application/grpc-web+proto") {
    if (buf.length < 5 || buf[0] !== 0) return; // compressed, or not one plain envelope
    if (5 + buf.readUInt32BE(1) !== buf.length) return;
    holder.message = { format: "pb", bytes: buf.subarray(5) };
  } else if (ct === "application/proto" && plain) {
    holder.message = { format: "pb", bytes: buf };
  } else if (ct === "application/json" && plain) {
    holder.message = { format: "json", bytes: buf };
  }
}
