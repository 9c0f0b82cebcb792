import assert from "node:assert/strict";
import { specPercentEncoding } from "../../src/server/grpc-trailers-only.js";

describe("specPercentEncoding (grpc-message)", () => {
  it("leaves printable ASCII as is and encodes only %, control and non-ASCII bytes", () => {
    assert.equal(specPercentEncoding(encodeURIComponent("a, b: c; [d]")), "a, b: c; [d]");
    assert.equal(specPercentEncoding(encodeURIComponent("100% sure")), "100%25 sure");
    assert.equal(specPercentEncoding(encodeURIComponent("line\nbreak é")), "line%0Abreak %C3%A9");
  });

  it("passes through a value that is not valid percent-encoding", () => {
    assert.equal(specPercentEncoding("%E0%A4%A"), "%E0%A4%A");
  });
});
