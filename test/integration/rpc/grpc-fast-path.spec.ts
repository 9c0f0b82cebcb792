/**
 * The gRPC fast path (src/server/grpc-unary-fast-path.ts) answers a plain call
 * exactly as connect's own handler does: the same status, message, details,
 * headers and trailers. A `grpc-timeout` header sends the same call through
 * connect, so each case is sent both ways and the answers compared.
 */
import assert from "node:assert/strict";
import http2 from "node:http2";
import { create, toBinary } from "@bufbuild/protobuf";
import { IngestEventsRequestSchema } from "../../../gen/playsmart/ingest/v1/ingest_pb.js";
import { registerPlayer, startTestApp, type TestApp, type TestPlayer } from "../../helpers/start-app.js";

const path = "/playsmart.ingest.v1.IngestService/IngestEvents";

interface Answer {
  headers: Record<string, unknown>;
  trailers: Record<string, unknown>;
  body: Buffer;
}

function call(session: http2.ClientHttp2Session, headers: Record<string, string>, body: Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers", ...headers });
    const answer: Answer = { headers: {}, trailers: {}, body: Buffer.alloc(0) };
    const chunks: Buffer[] = [];
    stream.on("response", (h) => {
      const { date: _date, "x-request-id": _id, ...rest } = h;
      answer.headers = rest;
    });
    stream.on("trailers", (t) => {
      answer.trailers = { ...t };
    });
    stream.on("data", (d: Buffer) => chunks.push(d));
    stream.on("error", reject);
    stream.on("close", () => {
      answer.body = Buffer.concat(chunks);
      resolve(answer);
    });
    stream.end(body);
  });
}

function frame(message: Uint8Array): Buffer {
  const out = Buffer.alloc(5 + message.length);
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}

describe("gRPC fast path", () => {
  let app: TestApp;
  let player: TestPlayer;
  let session: http2.ClientHttp2Session;

  before(async () => {
    app = await startTestApp({ name: "grpc_fast", role: "gateway", env: { INGEST_RATE_PER_USER: "0" } });
    player = await registerPlayer(app.url);
    session = http2.connect(app.url);
    session.on("error", () => {});
  });
  after(async () => {
    session?.close();
    await app?.close();
  });

  const request = (userId: string, events: Array<Record<string, unknown>>) =>
    frame(toBinary(IngestEventsRequestSchema, create(IngestEventsRequestSchema, { userId, gameId: "com.example.game", events: events as never })));

  it("answers as connect does: accepted, invalid, unauthenticated, another player's batch", async () => {
    const auth = { authorization: `Bearer ${player.accessToken}` };
    const cases: Array<[string, Buffer, Record<string, string>]> = [
      ["accepted", request(player.userId, [{ type: "AppOpen", timestamp: "2026-01-01T00:00:00Z", customdata: { level: 3, tags: ["a", null, true] } }]), auth],
      ["invalid", request(player.userId, [{ type: "Nope", timestamp: "2026-01-01T00:00:00Z", customdata: { d: { d: { d: 1 } } } }]), auth],
      ["unauthenticated", request(player.userId, [{ type: "AppOpen", timestamp: "2026-01-01T00:00:00Z" }]), {}],
      ["another player's", request("someone-else", [{ type: "AppOpen", timestamp: "2026-01-01T00:00:00Z" }]), auth],
    ];
    for (const [what, body, headers] of cases) {
      const fast = await call(session, headers, body);
      const viaConnect = await call(session, { ...headers, "grpc-timeout": "10S" }, body);
      assert.deepEqual(fast.headers, viaConnect.headers, `${what}: headers`);
      assert.deepEqual(fast.trailers, viaConnect.trailers, `${what}: trailers`);
      // The batch id differs; the rest of the answer is the same.
      assert.equal(fast.body.length, viaConnect.body.length, `${what}: body`);
    }
  });

  it("a malformed message is invalid_argument either way (the fast path judges it after authentication)", async () => {
    const auth = { authorization: `Bearer ${player.accessToken}` };
    const body = frame(Buffer.from([0x0a, 0xff]));
    const fast = await call(session, auth, body);
    const viaConnect = await call(session, { ...auth, "grpc-timeout": "10S" }, body);
    assert.equal(fast.headers["grpc-status"], "3");
    assert.equal(viaConnect.headers["grpc-status"], "3");
    assert.equal((await call(session, {}, body)).headers["grpc-status"], "16");
  });
});
