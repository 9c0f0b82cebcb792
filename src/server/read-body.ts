import type { IncomingMessage } from "node:http";
import type { Http2ServerRequest } from "node:http2";
import { PayloadTooLargeError } from "../errors.js";

/**
 * Reads a request body up to `limitBytes`. A declared Content-Length over the
 * limit is refused before a byte is read; a body that grows past it is refused
 * as soon as it does, so an oversized upload is never buffered whole.
 */
export async function readBody(req: IncomingMessage | Http2ServerRequest, limitBytes: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limitBytes) throw new PayloadTooLargeError(limitBytes);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limitBytes) throw new PayloadTooLargeError(limitBytes);
    chunks.push(chunk);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
}
