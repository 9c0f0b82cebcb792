import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";

/**
 * Reads a request body whole, for a handler that looks at it before connect
 * does: `onBody` gets it once it ends. A body that grows past `maxBytes` is
 * handed on instead: `onTooLarge` gets the bytes read so far followed by the
 * rest of the request, for connect to read and refuse as it always does. A
 * read error before that destroys the response.
 */
export function bufferRequest(
  req: IncomingMessage | Http2ServerRequest,
  res: Pick<ServerResponse | Http2ServerResponse, "destroy">,
  maxBytes: number,
  onBody: (body: Buffer) => void,
  onTooLarge: (body: AsyncIterable<Uint8Array>) => void,
): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let handedOver = false;
  // 'data' events rather than `for await`: the async iterator costs a promise
  // and a generator step per chunk.
  const onData = (chunk: Buffer) => {
    chunks.push(chunk);
    size += chunk.length;
    if (size > maxBytes) {
      handedOver = true;
      req.off("data", onData);
      req.off("end", onEnd);
      req.pause();
      onTooLarge(prepend(chunks, req));
    }
  };
  const onEnd = () => onBody(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
  req.on("data", onData);
  req.once("end", onEnd);
  req.once("error", () => {
    if (!handedOver) res.destroy();
  });
}

/** The bytes as one async iterable, for a handler that reads the request body itself. */
export async function* once(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}

async function* prepend(chunks: Buffer[], rest: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  yield* chunks;
  yield* rest;
}
