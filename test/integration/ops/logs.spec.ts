import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { createLogger } from "../../../src/logger.js";
import { registerPlayer, startTestApp, testAdminToken, type TestApp } from "../../helpers/start-app.js";

describe("request logs", () => {
  let app: TestApp;
  const lines: string[] = [];

  before(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(...chunk.toString().split("\n").filter(Boolean));
        done();
      },
    });
    app = await startTestApp({ name: "logs", log: createLogger("info", sink) });
  });
  after(() => app.close());

  const waitForLine = async (predicate: (l: Record<string, unknown>) => boolean) => {
    for (let i = 0; i < 100; i++) {
      const hit = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find(predicate);
      if (hit) return hit;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.fail("log line not found");
  };

  it("logs a failed login once, with request id, route, status and duration, and no password or token", async () => {
    const player = await registerPlayer(app.url);
    const secretPassword = "my very secret password 123";
    const res = await fetch(`${app.url}/auth/login`, {
      method: "POST",
      headers: { "x-request-id": "req-login-1", authorization: `Bearer ${player.accessToken}` },
      body: JSON.stringify({ email: player.email, password: secretPassword }),
    });
    assert.equal(res.status, 401);
    assert.equal(res.headers.get("x-request-id"), "req-login-1");
    const line = await waitForLine((l) => l.reqId === "req-login-1");
    assert.equal(line.route, "/auth/login");
    assert.equal(line.status, 401);
    assert.equal(line.protocol, "rest");
    assert.equal(typeof line.durationMs, "number");
    const all = lines.join("\n");
    for (const secret of [secretPassword, player.accessToken, player.refreshToken, player.password, testAdminToken]) {
      assert.ok(!all.includes(secret), "a secret reached the log");
    }
  });

  it("logs the user of an accepted batch, makes a request id when none is sent, and never logs customdata", async () => {
    const player = await registerPlayer(app.url);
    const res = await fetch(`${app.url}/ingest/events`, {
      method: "POST",
      headers: { authorization: `Bearer ${player.accessToken}` },
      body: JSON.stringify({
        user_id: player.userId, game_id: "com.example.mygame",
        events: [{ type: "AppOpen", timestamp: "2026-11-26T09:15:00Z", customdata: { secretValue: "customdata-must-not-be-logged" } }],
      }),
    });
    assert.equal(res.status, 202);
    const id = res.headers.get("x-request-id");
    assert.match(id ?? "", /^[0-9a-f-]{36}$/);
    const line = await waitForLine((l) => l.reqId === id);
    assert.equal(line.userId, player.userId);
    assert.equal(line.status, 202);
    assert.ok(!lines.join("\n").includes("customdata-must-not-be-logged"));
  });
});
