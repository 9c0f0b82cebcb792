import assert from "node:assert/strict";
import { registerPlayer, startTestApp } from "../../helpers/start-app.js";

describe("signing keys kept in MySQL (no JWT_PRIVATE_KEY)", () => {
  it("generates a key on first start, publishes it, and keeps it across restarts", async () => {
    const env = { JWT_PRIVATE_KEY: "" };
    const first = await startTestApp({ name: "keys", env });
    let token: string;
    let kid: string;
    try {
      const player = await registerPlayer(first.url);
      token = player.accessToken;
      kid = JSON.parse(Buffer.from(token.split(".")[0]!, "base64url").toString()).kid;
      const { keys } = (await (await fetch(`${first.url}/.well-known/jwks.json`)).json()) as { keys: Array<{ kid: string }> };
      assert.deepEqual(keys.map((k) => k.kid), [kid]);
    } finally {
      await first.close();
    }

    const second = await startTestApp({ name: "keys", env });
    try {
      const { keys } = (await (await fetch(`${second.url}/.well-known/jwks.json`)).json()) as { keys: Array<{ kid: string }> };
      assert.deepEqual(keys.map((k) => k.kid), [kid]);
      const sub = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()).sub as string;
      const res = await fetch(`${second.url}/ingest/events`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ user_id: sub, game_id: "com.example.mygame", events: [{ type: "AppOpen", timestamp: "2026-11-26T09:15:00Z" }] }),
      });
      assert.equal(res.status, 202);
    } finally {
      await second.close();
    }
  });
});
