/**
 * Fuzz of the live REST route `POST /ingest/events` on a running gateway with a
 * 64 KiB body limit and a customdata depth limit of 8: random and mutated bodies
 * get exactly the status the contract oracle expects (400/401/403/413, 202 only
 * for valid batches), never a 500, each within a second; the Redis stream grows
 * by exactly the accepted batches and the service keeps answering.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { Redis } from "ioredis";
import { streamKey } from "../../src/stream/stream-keys.js";
import { registerPlayer, startTestApp, type TestApp, type TestPlayer } from "../helpers/start-app.js";
import { redisUrl } from "../helpers/test-env.js";
import { copy, duplicateKeyText, mutation, nested, protoKeyBody, validBatch } from "./arbitraries.js";
import { expandEntry } from "../../src/worker/expand-entry.js";
import { isWellFormedUtf8, judgeBatch } from "./contract-oracle.js";
import { assertNoInternals, post, restErrorNames, type Answer } from "./wire.js";

const bodyLimit = 64 * 1024;
const limits = { maxDepth: 8, maxBytes: 16 * 1024 };
const maxAnswerMs = 1000;

/** What the contract says a REST ingest request must get, as the set of allowed statuses. */
function expectedStatus(bytes: Buffer, callerUserId: string, headers: Record<string, string> = {}): number[] {
  if (bytes.length > bodyLimit) return [413];
  const encoding = headers["content-encoding"];
  // A body the server cannot read as declared: 400 (it decodes and fails) or 415 (it does not support the coding).
  if (encoding !== undefined && encoding !== "identity") return [400, 415];
  // Issue 6: invalid UTF-8 is refused, not read with U+FFFD in place of the bad bytes.
  if (!isWellFormedUtf8(bytes)) return [400];
  const text = bytes.toString("utf8");
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return [400];
  }
  // A repeated key reads as its last copy (JSON.parse), in the gateway and in the
  // worker alike: see the README's decisions and the test below.
  const verdict = judgeBatch(body, limits);
  if (verdict.claimedUserId !== undefined && verdict.claimedUserId !== "" && verdict.claimedUserId !== callerUserId) return [403];
  if (verdict.ambiguous && verdict.problems.size === 0) return [202, 400];
  return verdict.valid ? [202] : [400];
}

describe("fuzz: REST POST /ingest/events on a live gateway", function () {
  this.timeout(60_000);
  let app: TestApp;
  let redis: Redis;
  let key: string;
  let alice: TestPlayer;
  let bob: TestPlayer;
  let accepted = 0;
  let sent = 0;
  let slowest = 0;
  let startLen = 0;

  before(async () => {
    app = await startTestApp({
      name: "fuzz_rest",
      role: "gateway",
      env: { BODY_LIMIT_BYTES: String(bodyLimit), CUSTOMDATA_MAX_DEPTH: String(limits.maxDepth), INGEST_RATE_PER_USER: "0", STREAM_MAX_BACKLOG: "0" },
    });
    redis = new Redis(redisUrl);
    key = streamKey(app.config.streamPrefix, 0);
    [alice, bob] = await Promise.all([registerPlayer(app.url), registerPlayer(app.url)]);
    startLen = await redis.xlen(key);
  });

  after(async () => {
    console.log(`      ${sent} requests, ${accepted} accepted, slowest answer ${slowest.toFixed(0)} ms`);
    redis?.disconnect();
    await app?.close();
  });

  /** Sends one body as `player` and checks the answer against the oracle. */
  async function check(bytes: Buffer, what: string, headers: Record<string, string> = {}, player: TestPlayer = alice): Promise<Answer> {
    const allowed = expectedStatus(bytes, player.userId, headers);
    const all = { "content-type": "application/json", authorization: `Bearer ${player.accessToken}`, ...headers };
    const answer = await post(`${app.url}/ingest/events`, bytes, all);
    sent++;
    if (answer.status === 202) accepted++;
    slowest = Math.max(slowest, answer.ms);
    const text = answer.body.toString("utf8");
    assert.ok(allowed.includes(answer.status), `${what}: answered ${answer.status}, the contract says ${allowed.join(" or ")}: ${text.slice(0, 300)}`);
    assert.ok(answer.ms < maxAnswerMs, `${what}: answered after ${answer.ms.toFixed(0)} ms`);
    assertNoInternals(text, what);
    const json = JSON.parse(text) as Record<string, unknown>;
    if (answer.status === 202) {
      const events = (JSON.parse(bytes.toString("utf8")) as { events: unknown[] }).events;
      assert.equal(json.accepted, events.length, `${what}: accepted count`);
      assert.match(String(json.batch_id), /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    } else {
      assert.equal(json.error, restErrorNames[answer.status], `${what}: error name`);
      assert.equal(typeof json.message, "string");
      if (answer.status === 400 && json.details !== undefined) {
        assert.ok(Array.isArray(json.details));
        for (const d of json.details as Array<Record<string, unknown>>) assert.deepEqual(Object.keys(d).sort(), ["field", "index", "reason"]);
      }
    }
    return answer;
  }

  // The REST route reads JSON whatever the Content-Type says (curl -d sends
  // application/x-www-form-urlencoded): the type must change nothing.
  const contentTypes = fc.constantFrom("application/json", "application/json; charset=utf-8", "text/plain", "application/x-www-form-urlencoded", "application/octet-stream", "multipart/form-data; boundary=x", "application/proto");

  it("mutated valid batches get exactly 202, 400 or 403 as the contract says, whatever the Content-Type", async () => {
    await fc.assert(
      fc.asyncProperty(validBatch(alice.userId, 6), fc.array(mutation, { maxLength: 3 }), contentTypes, async (base, mutations, contentType) => {
        const body = copy(base);
        for (const m of mutations) m.apply(body);
        await check(Buffer.from(JSON.stringify(body)), `${mutations.map((m) => m.name).join(" + ") || "valid"} as ${contentType}`, { "content-type": contentType });
      }),
      { numRuns: 200 },
    );
  });

  it("random bytes and random text get 400 (or 413)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 2000 }).map((a) => Buffer.from(a)),
          fc.string({ unit: "binary", maxLength: 500 }).map((s) => Buffer.from(s)),
          fc.json({ maxDepth: 4 }).map((s) => Buffer.from(s)),
          fc.constantFrom("", " ", "null", "[]", "{}", "\ufeff{}", "0", '"x"', "true", "{".repeat(50_000), "[".repeat(60_000)).map((s) => Buffer.from(s)),
        ),
        contentTypes,
        async (bytes, contentType) => {
          await check(bytes, `random ${bytes.subarray(0, 40).toString("hex")} as ${contentType}`, { "content-type": contentType });
        },
      ),
      { numRuns: 150 },
    );
  });

  it("truncated JSON gets 400", async () => {
    await fc.assert(
      fc.asyncProperty(validBatch(alice.userId, 4), fc.double({ min: 0, max: 1, noNaN: true }), async (body, at) => {
        const text = JSON.stringify(body);
        const bytes = Buffer.from(text).subarray(0, Math.floor(at * (Buffer.byteLength(text) - 1)));
        await check(bytes, `truncated at ${bytes.length}`);
      }),
      { numRuns: 60 },
    );
  });

  it("customdata nested beyond CUSTOMDATA_MAX_DEPTH, even thousands deep, gets 400", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.integer({ min: limits.maxDepth - 1, max: limits.maxDepth + 3 }), fc.integer({ min: 100, max: 30_000 })),
        fc.constantFrom("object", "array", "mixed") as fc.Arbitrary<"object" | "array" | "mixed">,
        async (levels, kind) => {
          const body = { user_id: alice.userId, game_id: "com.example.game", events: [{ type: "AppOpen", timestamp: "2026-01-01T00:00:00Z", customdata: { d: nested(levels - 1, kind) } }] };
          let text: string;
          try {
            text = JSON.stringify(body);
          } catch {
            // Deeper than JSON.stringify can go: write the text by hand.
            const open = kind === "array" ? "[" : '{"k":';
            const close = kind === "array" ? "]" : "}";
            text = `{"user_id":"${alice.userId}","game_id":"com.example.game","events":[{"type":"AppOpen","timestamp":"2026-01-01T00:00:00Z","customdata":{"d":${open.repeat(levels - 1)}1${close.repeat(levels - 1)}}}]}`;
          }
          await check(Buffer.from(text), `customdata ${levels} levels of ${kind}`);
        },
      ),
      { numRuns: 40 },
    );
  });

  it("bodies over BODY_LIMIT_BYTES get 413, declared or chunked, and huge strings within it 400", async () => {
    const big = (n: number) => Buffer.from(JSON.stringify({ user_id: alice.userId, game_id: "com.example.game", events: [{ type: "AppOpen", timestamp: "2026-01-01T00:00:00Z", customdata: { s: "x".repeat(n) } }] }));
    await check(big(bodyLimit), "declared over the limit");
    await check(big(20_000), "customdata over its 16 KiB limit");
    await check(big(bodyLimit - 200), "just under the body limit, over the customdata limit");
    // No Content-Length: the body grows past the limit while it is read.
    const chunks = [big(bodyLimit * 4)];
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = chunks.shift();
        if (next) controller.enqueue(next);
        else controller.close();
      },
    });
    const started = performance.now();
    const res = await fetch(`${app.url}/ingest/events`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${alice.accessToken}` },
      body: stream,
      duplex: "half",
    } as RequestInit);
    assert.equal(res.status, 413);
    assert.equal(((await res.json()) as { error: string }).error, "PAYLOAD_TOO_LARGE");
    assert.ok(performance.now() - started < maxAnswerMs);
    const hugeId = Buffer.from(JSON.stringify({ user_id: alice.userId, game_id: "com.example.game", events: [{ type: "AppOpen", timestamp: "2026-01-01T00:00:00Z", event_id: "e".repeat(60_000) }] }));
    await check(hugeId, "60 KB event_id");
    const hugeUser = Buffer.from(JSON.stringify({ user_id: "u".repeat(60_000), game_id: "com.example.game", events: [] }));
    await check(hugeUser, "60 KB user_id of someone else");
  });

  it("__proto__ and constructor keys neither satisfy a rule nor pollute the server", async () => {
    await fc.assert(
      fc.asyncProperty(protoKeyBody(alice.userId), async (text) => {
        await check(Buffer.from(text), text.slice(0, 80));
      }),
      { numRuns: 15 },
    );
    assert.equal(({} as Record<string, unknown>).polluted, undefined, "Object.prototype was polluted in the server process");
  });

  it("a valid token of another player gets 403 before the batch is looked at; no or a bad token 401", async () => {
    await fc.assert(
      fc.asyncProperty(validBatch(alice.userId, 3), fc.array(mutation, { maxLength: 1 }), async (base, mutations) => {
        const body = copy(base);
        for (const m of mutations) m.apply(body);
        await check(Buffer.from(JSON.stringify(body)), "bob sends alice's batch", {}, bob);
      }),
      { numRuns: 40 },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.option(fc.oneof(fc.string({ unit: "grapheme-ascii", maxLength: 200 }), fc.constantFrom("Bearer", "Bearer ", "Basic abc", `Bearer ${alice.accessToken}x`, `Bearer ${alice.accessToken.slice(0, -2)}`, `bearer  ${alice.accessToken.split(".").slice(0, 2).join(".")}.`)), { nil: undefined }),
        fc.oneof(validBatch(alice.userId, 2).map((b) => JSON.stringify(b)), fc.string({ maxLength: 100 })),
        async (authorization, text) => {
          const headers: Record<string, string> = { "content-type": "application/json" };
          if (authorization !== undefined && authorization.trim() !== "") headers.authorization = authorization.replace(/[\r\n]/g, "");
          const answer = await post(`${app.url}/ingest/events`, text, headers);
          sent++;
          assert.equal(answer.status, 401, `authorization ${JSON.stringify(authorization)}: ${answer.body.toString()}`);
          assert.equal(answer.headers.get("www-authenticate"), 'Bearer error="invalid_token"');
          assert.deepEqual(JSON.parse(answer.body.toString()), { error: "UNAUTHORIZED", message: "missing or invalid access token" });
          assert.ok(answer.ms < maxAnswerMs);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("invalid UTF-8 in a valid-looking body gets 400, not a 202 with U+FFFD stored", async () => {
    // Regression test of a fixed bug (src/server/rest-routes.ts, parseJson: `JSON.parse(raw.toString("utf8"))`):
    // Buffer#toString replaces malformed UTF-8 with U+FFFD, so a body with invalid
    // bytes inside a string is accepted (202) and the raw bytes are queued; what
    // is stored differs from what was sent. Issue 6 requires 400. Fix: decode with
    // `new TextDecoder("utf-8", { fatal: true })` and refuse on error.
    const bad = [[0xff], [0xfe, 0xff], [0xc3, 0x28], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82]];
    await fc.assert(
      fc.asyncProperty(validBatch(alice.userId, 3), fc.constantFrom(...bad), fc.nat(), async (body, seq, pick) => {
        const text = JSON.stringify(body);
        // Replace the content of one string value with the bad bytes.
        // String values only (not keys), and not the user id (that would be a 403 first).
        const strings = [...text.matchAll(/"(?:[^"\\]|\\.)*"/g)].filter((m) => text[m.index! + m[0].length] !== ":" && m[0] !== JSON.stringify(alice.userId));
        const target = strings[pick % strings.length]!;
        const bytes = Buffer.concat([Buffer.from(text.slice(0, target.index! + 1)), Buffer.from(seq), Buffer.from(text.slice(target.index! + target[0].length - 1))]);
        await check(bytes, `invalid UTF-8 ${Buffer.from(seq).toString("hex")} in ${target[0].slice(0, 30)}`);
      }),
      { numRuns: 25 },
    );
  });

  it("duplicate keys read as their last copy, the same in the gateway and in the worker", async () => {
    // A decision (README): JSON.parse keeps the last copy of a repeated key, and
    // the gateway and the worker both read the queued text with it, so what is
    // validated is what is stored. Checked here on the queued entry itself.
    await fc.assert(
      fc.asyncProperty(validBatch(alice.userId, 3).chain((b) => duplicateKeyText(b)), async (text) => {
        const answer = await check(Buffer.from(text), `duplicate keys ${text.slice(0, 120)}`);
        if (answer.status !== 202) return;
        const [[, fields]] = (await redis.xrevrangeBuffer(key, "+", "-", "COUNT", 1)) as unknown as [[Buffer, Buffer[]]];
        const stored = expandEntry(fields);
        const read = JSON.parse(text) as { events: Array<{ type: string }> };
        assert.deepEqual(stored.events.map((e) => e.type), read.events.map((e) => e.type));
      }),
      {
        numRuns: 25,
        examples: [[`{"user_id":${JSON.stringify(alice.userId)},"game_id":"com.example.game","events":[{"type":"Custom","type":"AppOpen","timestamp":"2026-01-01T00:00:00Z"}]}`]],
      },
    );
  });

  it("a Content-Encoding the route does not decode is refused, not ignored", async () => {
    // Regression test of a fixed bug (src/server/rest-routes.ts): the REST route ignores Content-Encoding, so
    // a plain JSON body labelled gzip/br/deflate is accepted (202) while the same
    // request on Connect gets invalid_argument "decompression failed". RFC 9110
    // §8.4: a coding the server cannot decode is answered 415. Fix: answer 415
    // for any Content-Encoding other than identity (or decode gzip like Connect).
    for (const encoding of ["gzip", "br", "deflate", "x-unknown"]) {
      const text = JSON.stringify({ user_id: alice.userId, game_id: "com.example.game", events: [{ type: "AppOpen", timestamp: "2026-01-01T00:00:00Z" }] });
      await check(Buffer.from(text), `plain JSON labelled ${encoding}`, { "content-encoding": encoding });
    }
  });

  it("afterwards: the stream grew by exactly the accepted batches, /healthz answers, nothing polluted", async () => {
    assert.equal(await redis.xlen(key), startLen + accepted, `${accepted} batches were accepted`);
    const res = await fetch(`${app.url}/healthz`);
    assert.equal(res.status, 200);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.ok(accepted > 20, `only ${accepted} accepted batches: the generators hardly reach the happy path`);
  });
});
