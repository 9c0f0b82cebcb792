import assert from "node:assert/strict";
import { classifyMysqlError } from "../../../src/store/mysql-errors.js";

const mysqlError = (props: Record<string, unknown>, message = "boom") => Object.assign(new Error(message), props);

describe("classifyMysqlError", () => {
  it("retries deadlocks, lock wait timeouts and racing duplicates at once", () => {
    assert.equal(classifyMysqlError(mysqlError({ errno: 1213, code: "ER_LOCK_DEADLOCK" })), "conflict");
    assert.equal(classifyMysqlError(mysqlError({ errno: 1205, code: "ER_LOCK_WAIT_TIMEOUT" })), "conflict");
    assert.equal(classifyMysqlError(mysqlError({ errno: 1062, code: "ER_DUP_ENTRY" })), "conflict");
  });

  it("waits for MySQL when it cannot be reached or used", () => {
    assert.equal(classifyMysqlError(mysqlError({ code: "ECONNREFUSED", errno: -111 })), "unavailable");
    assert.equal(classifyMysqlError(mysqlError({ code: "PROTOCOL_CONNECTION_LOST", fatal: true })), "unavailable");
    assert.equal(classifyMysqlError(mysqlError({ fatal: true }, "Can't add new command when connection is in closed state")), "unavailable");
    assert.equal(classifyMysqlError(mysqlError({ errno: 1040 })), "unavailable");
    assert.equal(classifyMysqlError(mysqlError({ errno: 1146, code: "ER_NO_SUCH_TABLE" })), "unavailable");
    assert.equal(classifyMysqlError(new Error("Pool is closed.")), "unavailable");
  });

  it("blames the rows for values MySQL refuses", () => {
    assert.equal(classifyMysqlError(mysqlError({ errno: 4025, code: "ER_CONSTRAINT_FAILED" })), "data");
    assert.equal(classifyMysqlError(mysqlError({ errno: 1406, code: "ER_DATA_TOO_LONG" })), "data");
  });

  it("leaves anything else to the delivery count", () => {
    assert.equal(classifyMysqlError(mysqlError({ errno: 1064, code: "ER_PARSE_ERROR" })), "other");
    assert.equal(classifyMysqlError(new TypeError("bug")), "other");
    assert.equal(classifyMysqlError("string"), "other");
  });
});
