import assert from "node:assert/strict";
import { eventKeyString } from "../../../src/store/events-repo.js";
import { decodePageToken, encodePageToken } from "../../../src/store/page-token.js";
import { chunkRows, mysqlDatetimeToRfc3339, rowPlaceholders } from "../../../src/store/sql-values.js";

describe("store helpers", () => {
  it("builds multi-row placeholders", () => {
    assert.equal(rowPlaceholders(2, 3), "(?,?,?),(?,?,?)");
    assert.equal(rowPlaceholders(2, 2, "(?,?,NOW())"), "(?,?,NOW()),(?,?,NOW())");
  });

  it("chunks by rows and by bytes, never leaving a chunk empty", () => {
    assert.deepEqual(chunkRows([1, 2, 3, 4, 5], 2), [[1, 2], [3, 4], [5]]);
    assert.deepEqual(chunkRows([5, 5, 20, 1], 100, 10, (n) => n), [[5, 5], [20], [1]]);
    assert.deepEqual(chunkRows([], 10), []);
  });

  it("keys events exactly as the NO PAD event_id column does", () => {
    const key = (eventId: string) => eventKeyString({ userId: "u", gameId: "g", eventId });
    assert.notEqual(key("a"), key("a "));
    assert.notEqual(key("A"), key("a"));
    assert.equal(key("\ud83d\ude00"), key("\ud83d\ude00"));
  });

  it("round-trips page tokens and refuses foreign ones", () => {
    const digits = (c: string) => /^\d+$/.test(c);
    assert.equal(decodePageToken(encodePageToken("1234"), digits), "1234");
    assert.equal(decodePageToken("not base64!", digits), undefined);
    assert.equal(decodePageToken(encodePageToken("abc"), digits), undefined);
    assert.equal(decodePageToken(encodePageToken("12") + "=", digits), undefined);
  });

  it("formats MySQL datetimes as RFC 3339", () => {
    assert.equal(mysqlDatetimeToRfc3339("2026-11-26 09:15:00.123"), "2026-11-26T09:15:00.123Z");
  });
});
