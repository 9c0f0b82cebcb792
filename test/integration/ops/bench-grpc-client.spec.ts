import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { GrpcH2Session, grpcFrame } from "../../../bench/load/grpc-h2.js";
import { encodeHeaderBlock, huffmanEncode, readStatusHeaders } from "../../../bench/load/hpack.js";

// The bench's raw gRPC client speaks HTTP/2 itself; these hold it to node:http2's
// server (nghttp2), the same stack the gateway runs on.

type Handler = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, body: Buffer) => void;

async function withServer(settings: http2.Settings, handler: Handler, run: (url: string) => Promise<void>): Promise<void> {
  const server = http2.createServer({ settings });
  server.on("stream", (stream, headers) => {
    stream.on("error", () => {}); // resets the tests cause on purpose
    const chunks: Buffer[] = [];
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () => handler(stream, headers, Buffer.concat(chunks)));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  try {
    await run(`http://127.0.0.1:${port}`);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

function call(session: GrpcH2Session, body: Buffer, auth = "Bearer t"): Promise<string> {
  return new Promise((resolve) => session.call("/pkg.Svc/Method", auth, body, (err, label) => resolve(err ? `error:${err.message}` : label)));
}

// A unary gRPC answer: headers, one message, trailers with `code`.
const answer = (code: number): Handler => (stream) => {
  stream.respond({ ":status": 200, "content-type": "application/grpc+proto" }, { waitForTrailers: true });
  stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": String(code), "grpc-message": "some words here" }));
  stream.end(grpcFrame(Buffer.from("reply")));
};

describe("bench gRPC client (raw HTTP/2)", function () {
  this.timeout(20_000);

  it("reads grpc-status from trailers, and trailers-only answers, for every code", async () => {
    await withServer({}, (stream, headers, body) => {
      const code = Number(body.subarray(5).toString());
      if (headers["x-only"] === undefined && code % 2 === 0) return answer(code)(stream, headers, body);
      stream.respond({ ":status": 200, "content-type": "application/grpc+proto", "grpc-status": String(code) }, { endStream: true });
    }, async (url) => {
      const session = new GrpcH2Session(url);
      const labels = await Promise.all(Array.from({ length: 17 }, (_, code) => call(session, grpcFrame(Buffer.from(String(code))))));
      assert.deepEqual(labels, Array.from({ length: 17 }, (_, code) => `grpc:${code}`));
      session.close();
    });
  });

  it("labels an answer without grpc-status by its HTTP status", async () => {
    const statuses = [200, 400, 404, 415, 429, 500, 503];
    await withServer({}, (stream, _headers, body) => {
      stream.respond({ ":status": Number(body.subarray(5).toString()) }, { endStream: true });
    }, async (url) => {
      const session = new GrpcH2Session(url);
      for (const s of statuses) assert.equal(await call(session, grpcFrame(Buffer.from(String(s)))), `http:${s}`);
      session.close();
    });
  });

  it("sends large bodies intact within small windows and frames, many calls at once", async () => {
    const bodies = Array.from({ length: 40 }, (_, i) => grpcFrame(randomBytes(10_000 + i * 4_099)));
    const seen = new Map<string, Buffer>();
    // Stream windows of 3,000 bytes and 16 KB frames: every body waits for
    // WINDOW_UPDATEs many times, and all calls share the 64 KB connection window.
    await withServer({ initialWindowSize: 3_000 }, (stream, headers, body) => {
      seen.set(String(headers["authorization"]), body);
      answer(0)(stream, headers, body);
    }, async (url) => {
      const session = new GrpcH2Session(url);
      const labels = await Promise.all(bodies.map((b, i) => call(session, b, `Bearer ${i}`)));
      assert.deepEqual(labels, bodies.map(() => "grpc:0"));
      bodies.forEach((b, i) => assert.ok(seen.get(`Bearer ${i}`)?.equals(b), `body ${i} arrived intact`));
      session.close();
    });
  });

  it("sends the request headers a gRPC server expects", async () => {
    let got: http2.IncomingHttpHeaders = {};
    const token = `Bearer ${"x".repeat(400)}`;
    await withServer({}, (stream, headers, body) => {
      got = headers;
      answer(0)(stream, headers, body);
    }, async (url) => {
      const session = new GrpcH2Session(url);
      assert.equal(await call(session, grpcFrame(Buffer.alloc(0)), token), "grpc:0");
      session.close();
    });
    assert.equal(got[":method"], "POST");
    assert.equal(got[":path"], "/pkg.Svc/Method");
    assert.equal(got["content-type"], "application/grpc+proto");
    assert.equal(got["te"], "trailers");
    assert.equal(got["authorization"], token);
  });

  it("fails a call the server resets, times out one it never answers, and keeps the session usable", async () => {
    await withServer({}, (stream, headers, body) => {
      const what = body.subarray(5).toString();
      if (what === "reset") stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
      else if (what === "ok") answer(0)(stream, headers, body);
      // "hang": no answer
    }, async (url) => {
      const session = new GrpcH2Session(url, 300);
      assert.equal(await call(session, grpcFrame(Buffer.from("reset"))), `error:RST_STREAM ${http2.constants.NGHTTP2_REFUSED_STREAM}`);
      assert.equal(await call(session, grpcFrame(Buffer.from("hang"))), "error:timeout");
      assert.equal(await call(session, grpcFrame(Buffer.from("ok"))), "grpc:0");
      session.close();
    });
  });

  it("fails calls in flight when the connection drops, then reconnects", async () => {
    let drop = true;
    await withServer({}, (stream, headers, body) => {
      if (drop) {
        drop = false;
        stream.session?.destroy();
      } else answer(0)(stream, headers, body);
    }, async (url) => {
      const session = new GrpcH2Session(url);
      assert.match(await call(session, grpcFrame(Buffer.from("a"))), /^error:/);
      assert.equal(await call(session, grpcFrame(Buffer.from("b"))), "grpc:0");
      session.close();
    });
  });

  describe("hpack", () => {
    it("Huffman-codes digits as RFC 7541 Appendix C.6.1 does", () => {
      assert.equal(huffmanEncode("302").toString("hex"), "6402");
      assert.equal(huffmanEncode("307").toString("hex"), "640eff");
      assert.throws(() => huffmanEncode("w"), /no Huffman code/);
    });

    it("reads its own encoding back, and Huffman-coded names and digit values", () => {
      const block = Buffer.concat([
        Buffer.from([0x88]), // :status 200, indexed
        encodeHeaderBlock([["content-type", "application/grpc"]]),
        Buffer.from([0x00, 0x80 | huffmanEncode("grpc-status").length]),
        huffmanEncode("grpc-status"),
        Buffer.from([0x80 | huffmanEncode("14").length]),
        huffmanEncode("14"),
      ]);
      assert.deepEqual(readStatusHeaders(block), { status: 200, grpcStatus: "14" });
      assert.deepEqual(readStatusHeaders(encodeHeaderBlock([["grpc-status", "3"]])), { grpcStatus: "3" });
      assert.throws(() => readStatusHeaders(Buffer.from([0xbe])), /outside the static table/);
    });
  });
});
