import type { IncomingMessage } from "node:http";
import type { Http2ServerRequest } from "node:http2";
import { promisify } from "node:util";
import { gunzip } from "node:zlib";
import { PayloadTooLargeError, UnsupportedMediaTypeError } from "../errors.js";

const gunzipAsync = promisify(gunzip);

/**
 * Reads a request body up to `limitBytes`. A declared Content-Length over the
 * limit is refused before a byte is read; a body that grows past it is refused
 * as soon as it does, so an oversized upload is never buffered whole.
 */
export async function readBody(req: IncomingMessage | Http2ServerRequest, limitBytes: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limitBytes) throw new PayloadTooLargeError(limitBytes);
  return decode(await collect(req, limitBytes), req.headers["content-encoding"], limitBytes);
}

// 'data' events rather than `for await`: the async iterator costs a promise and
// a generator step per chunk, on every ingest request.
function collect(req: IncomingMessage | Http2ServerRequest, limitBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limitBytes) {
        done();
        // Stop reading: the rest of an oversized upload is never buffered.
        req.pause();
        reject(new PayloadTooLargeError(limitBytes));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      done();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = (err: Error) => {
      done();
      reject(err);
    };
    const onClose = () => {
      done();
      reject(Object.assign(new Error("the request was aborted before its body was complete"), { code: "ERR_STREAM_PREMATURE_CLOSE" }));
    };
    const done = () => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("close", onClose);
    };
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
    req.on("close", onClose);
  });
}

/**
 * Undoes Content-Encoding: gzip (what OkHttp and URLSession can send), with the
 * same limit on the inflated size so a small bomb cannot expand past it.
 */
async function decode(body: Buffer, encoding: string | undefined, limitBytes: number): Promise<Buffer> {
  const e = (encoding ?? "identity").trim().toLowerCase();
  if (e === "identity" || e === "") return body;
  if (e !== "gzip") throw new UnsupportedMediaTypeError(`Content-Encoding ${JSON.stringify(encoding)} is not supported; send gzip or none`);
  try {
    return await gunzipAsync(body, { maxOutputLength: limitBytes });
  } catch (err) {
    if ((err as { code?: string }).code === "ERR_BUFFER_TOO_LARGE") throw new PayloadTooLargeError(limitBytes);
    throw new UnsupportedMediaTypeError("the body is not valid gzip");
  }
}
