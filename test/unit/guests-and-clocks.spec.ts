import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { IngestEventsRequestSchema } from "../../gen/playsmart/ingest/v1/ingest_pb.js";
import { checkCredentials } from "../../src/auth/credentials.js";
import { checkDeviceId, deviceHash } from "../../src/auth/guest-accounts.js";
import { ValidationError } from "../../src/errors.js";
import { clockSkewProblem, clockSkewUs } from "../../src/ingest/clock-skew.js";
import { scanRequest } from "../../src/ingest/event-wire-scanner.js";
import { checkJsonBatch } from "../../src/ingest/json-batch-check.js";
import { checkWireBatch } from "../../src/ingest/wire-batch-check.js";
import { checkBatch, validateBatch } from "../../src/ingest/validate-batch.js";
import { parseTimestamp, type ClientInstant } from "../../src/ingest/timestamp.js";
import { decodeEntry, encodeEntry, PoisonEntryError } from "../../src/stream/stream-entry.js";

const ts = "2026-11-26T09:15:00Z";
const instant = (s: string) => parseTimestamp(s) as ClientInstant;
const fieldsOf = (err: unknown) => (err as ValidationError).violations.map((v) => [v.field, v.reason]);

describe("device ids", () => {
  it("accepts 10 to 128 printable ASCII characters, spaces and tildes included", () => {
    for (const id of ["0123456789", "x".repeat(128), "  spaced id ~!", "A1B2C3D4-E5F6-7890-ABCD-EF1234567890"]) assert.equal(checkDeviceId(id), id);
  });

  it("refuses anything else with one violation naming device_id", () => {
    const cases: Array<[unknown, string]> = [
      ["012345678", "must be 10 to 128 characters, got 9"],
      ["x".repeat(129), "must be 10 to 128 characters, got 129"],
      ["0123456789\u007f", "must hold printable ASCII characters only (0x20 to 0x7E)"],
      ["0123456789\t", "must hold printable ASCII characters only (0x20 to 0x7E)"],
      ["caf\u00e9-0123456", "must hold printable ASCII characters only (0x20 to 0x7E)"],
      ["", "is required and must be a string of 10 to 128 printable ASCII characters"],
      [null, "is required and must be a string of 10 to 128 printable ASCII characters"],
      [["0123456789"], "is required and must be a string of 10 to 128 printable ASCII characters"],
    ];
    for (const [id, reason] of cases) {
      assert.throws(() => checkDeviceId(id), (err: unknown) => {
        assert.ok(err instanceof ValidationError);
        assert.deepEqual(fieldsOf(err), [["device_id", reason]]);
        return true;
      }, JSON.stringify(id));
    }
  });

  it("hashes to the SHA-256 of the id, 32 bytes, never the id itself", () => {
    const id = "ios-6f1c2a9e-0b7d-4c3e-9a51-2d8f7e6b4c10";
    assert.deepEqual(deviceHash(id), createHash("sha256").update(id).digest());
    assert.equal(deviceHash(id).length, 32);
    assert.ok(!deviceHash(id).toString("latin1").includes(id));
  });
});

describe("credentials of register and link", () => {
  it("measures an email as stored, lower-cased: one that lower-casing lengthens past 254 is refused, not a 500", () => {
    const grows = `${"\u0130".repeat(125)}@example.com`; // 137 characters, 262 lower-cased
    assert.equal(grows.length, 137);
    assert.throws(() => checkCredentials(grows, "long enough pw"), (err: unknown) => {
      assert.deepEqual(fieldsOf(err), [["email", "must be an email address"]]);
      return true;
    });
    const fits = `${"a".repeat(242)}@example.com`;
    assert.equal(checkCredentials(fits.toUpperCase(), "long enough pw").email, fits);
    assert.throws(() => checkCredentials(`a${fits}`, "long enough pw"), ValidationError);
  });
});

describe("clock skew", () => {
  const received = Date.UTC(2026, 11, 3, 12, 0, 0, 500);

  it("is the receive time minus sent_at, in microseconds", () => {
    // Device 3 hours fast, sent_at with microseconds.
    assert.equal(clockSkewUs(instant("2026-12-03T17:00:00.250125+02:00"), received), -3 * 3600 * 1e6 + 250_000 - 125);
    assert.equal(clockSkewUs(instant("2026-12-03T12:00:00.500Z"), received), 0);
    assert.equal(clockSkewUs(instant("2026-12-03T11:59:58Z"), received), 2_500_000);
  });

  it("allows up to 31 days either way and names the server's time past that", () => {
    const day = 86_400_000;
    assert.equal(clockSkewProblem({ epochMs: received - 31 * day, micros: 0, offsetMinutes: 0 }, received), undefined);
    assert.equal(clockSkewProblem({ epochMs: received + 31 * day, micros: 0, offsetMinutes: 0 }, received), undefined);
    assert.equal(
      clockSkewProblem({ epochMs: received + 31 * day + 1, micros: 0, offsetMinutes: 0 }, received),
      "is more than 31 days from the server's time (2026-12-03T12:00:00.500Z): check the device clock",
    );
    assert.match(clockSkewProblem({ epochMs: received - 32 * day, micros: 0, offsetMinutes: 0 }, received)!, /^is more than 31 days/);
  });
});

describe("sent_at and dry_run in a batch", () => {
  const body = (extra: Record<string, unknown>) => ({ user_id: "u-1", game_id: "com.example.mygame", events: [{ type: "AppOpen", timestamp: ts }], ...extra });
  const now = Date.parse("2026-11-26T10:00:00Z");

  it("reads sent_at by either name, and an empty one as absent", () => {
    assert.deepEqual(checkBatch(body({ sent_at: "2026-11-26T13:00:00+03:00" }), undefined, now).sentAt, { epochMs: now, micros: 0, offsetMinutes: 180 });
    assert.deepEqual(checkBatch(body({ sentAt: "2026-11-26T10:00:00.000001Z" }), undefined, now).sentAt?.micros, 1);
    assert.equal(checkBatch(body({ sent_at: "" }), undefined, now).sentAt, undefined);
    assert.equal(checkBatch(body({ sent_at: null }), undefined, now).sentAt, undefined);
    assert.deepEqual(validateBatch(body({ sent_at: ts })).sentAt, instant(ts));
  });

  it("refuses a bad sent_at with the other violations, and checks the 31 days only against a receive time", () => {
    const bad = body({ sent_at: "2026-02-30T10:00:00Z", events: [{ type: "Jump", timestamp: ts }] });
    assert.throws(() => checkBatch(bad, undefined, now), (err: unknown) => {
      assert.deepEqual((err as ValidationError).violations.map((v) => [v.index, v.field]), [[0, "type"], [-1, "sent_at"]]);
      return true;
    });
    const old = body({ sent_at: "2026-09-01T00:00:00Z" });
    assert.throws(() => checkBatch(old, undefined, now), ValidationError);
    // The worker re-checks a queued batch without a receive time: accepted.
    assert.equal(checkBatch(old).eventCount, 1);
    assert.throws(() => checkBatch(body({ sent_at: 5 }), undefined, now), (err: unknown) => {
      assert.deepEqual(fieldsOf(err), [["sent_at", "must be an ISO 8601 string with an offset"]]);
      return true;
    });
  });

  it("refuses a timestamp that the correction would carry past 9999-12-31, naming the event", () => {
    const late = body({ sent_at: "9999-12-31T21:00:00Z", events: [{ type: "AppOpen", timestamp: ts }, { type: "AppOpen", timestamp: "9999-12-31T23:00:00Z" }] });
    const receivedAtMs = Date.parse("9999-12-31T23:00:00Z"); // the device is 2 hours behind
    assert.throws(() => checkBatch(late, undefined, receivedAtMs), (err: unknown) => {
      assert.deepEqual((err as ValidationError).violations, [{ index: 1, field: "timestamp", reason: "is past 9999-12-31 once corrected by sent_at" }]);
      return true;
    });
    // A device ahead moves it back: accepted.
    assert.equal(checkBatch(late, undefined, Date.parse("9999-12-31T20:00:00Z")).eventCount, 2);
  });

  it("reads dry_run / dryRun as a boolean only", () => {
    assert.equal(checkBatch(body({ dry_run: true })).dryRun, true);
    assert.equal(checkBatch(body({ dryRun: true })).dryRun, true);
    assert.equal(checkBatch(body({ dry_run: false })).dryRun, undefined);
    assert.equal(checkBatch(body({})).dryRun, undefined);
    for (const v of ["true", 1, {}]) {
      assert.throws(() => checkBatch(body({ dry_run: v })), (err: unknown) => {
        assert.deepEqual(fieldsOf(err), [["dry_run", "must be true or false"]]);
        return true;
      });
    }
  });

  it("the wire scanner reads sent_at (field 4) and dry_run (field 5) as protobuf-es does", () => {
    const msg = create(IngestEventsRequestSchema, { userId: "u-1", gameId: "com.example.mygame", events: [{ type: "AppOpen", timestamp: ts }], sentAt: ts, dryRun: true });
    const scanned = scanRequest(toBinary(IngestEventsRequestSchema, msg));
    assert.equal(scanned.sent_at, ts);
    assert.equal(scanned.dry_run, true);
    const plain = scanRequest(toBinary(IngestEventsRequestSchema, create(IngestEventsRequestSchema, { userId: "u", gameId: "g.h" })));
    assert.deepEqual([plain.sent_at, plain.dry_run], ["", false]);
    // A bool written as a long varint (any non-zero value is true), and one with the wrong wire type.
    assert.equal(scanRequest(Uint8Array.from([0x28, 0x80, 0x01])).dry_run, true);
    assert.equal(scanRequest(Uint8Array.from([0x28, 0x80, 0x00])).dry_run, false);
    // In a tenth byte only bit 0 counts (bit 63), as protobuf-es reads it.
    for (const last of [0x02, 0x01]) {
      const bytes = Uint8Array.from([0x0a, 0x01, 0x75, 0x12, 0x03, 0x67, 0x2e, 0x68, 0x28, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, last]);
      assert.equal(scanRequest(bytes).dry_run, fromBinary(IngestEventsRequestSchema, bytes).dryRun, `tenth byte ${last}`);
    }
    assert.throws(() => scanRequest(Uint8Array.from([0x2a, 0x00])), (err: unknown) => {
      assert.deepEqual(fieldsOf(err), [["dry_run", "has wire type 2, expected 0 (varint)"]]);
      return true;
    });
  });
});

describe("the one-pass checks and sent_at", () => {
  const limits = { maxDepth: 16, maxBytes: 64 * 1024 };
  const wire = (sentAt: string) =>
    toBinary(IngestEventsRequestSchema, create(IngestEventsRequestSchema, { userId: "u-1", gameId: "com.example.mygame", events: [{ type: "AppOpen", timestamp: ts }], sentAt }));
  const json = (sentAt: unknown) => Buffer.from(JSON.stringify({ user_id: "u-1", game_id: "com.example.mygame", events: [{ type: "AppOpen", timestamp: ts }], sent_at: sentAt }));

  it("are sure of a common sent_at and give it in the summary, as the exact path does", () => {
    const sentAt = "2026-11-26T12:15:00.125+03:00";
    const exact = checkBatch(scanRequest(wire(sentAt)), limits);
    assert.deepEqual(checkWireBatch(wire(sentAt), limits), exact);
    assert.deepEqual(checkJsonBatch(json(sentAt), limits), exact);
    assert.deepEqual(exact.sentAt, { epochMs: Date.parse("2026-11-26T09:15:00.125Z"), micros: 0, offsetMinutes: 180 });
  });

  it("leave a sent_at that is not a common timestamp to the exact path", () => {
    for (const bad of ["2026-02-30T09:15:00Z", "soon", "2026-11-26T09:15:00"]) {
      assert.equal(checkWireBatch(wire(bad), limits), undefined, bad);
      assert.equal(checkJsonBatch(json(bad), limits), undefined, bad);
      assert.throws(() => checkBatch(scanRequest(wire(bad)), limits), ValidationError);
    }
    assert.equal(checkJsonBatch(json(5), limits), undefined);
  });
});

describe("stream entries carry the clock skew", () => {
  const batch = { batchId: "0193a5e2-7c4f-7b3e-8a1d-2f6c9e0b4d12", userId: "u1", gameId: "g.h", receivedAtMs: 1_764_000_000_000, format: "json" as const, body: "{}" };
  const asRead = (fields: Array<string | Buffer>) => fields.map((f) => (typeof f === "string" ? Buffer.from(f) : f));

  it("writes field s only when the batch had sent_at, and reads it back", () => {
    assert.equal(encodeEntry(batch).includes("s"), false);
    assert.equal(decodeEntry(asRead(encodeEntry(batch))).clockSkewUs, undefined);
    assert.equal(decodeEntry(asRead(encodeEntry({ ...batch, clockSkewUs: -10_800_000_125 }))).clockSkewUs, -10_800_000_125);
  });

  it("an entry with a malformed s is poison", () => {
    assert.throws(() => decodeEntry(asRead([...encodeEntry(batch), "s", "3h"])), PoisonEntryError);
  });
});
