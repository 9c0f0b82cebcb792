import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import type { RowDataPacket } from "mysql2/promise";
import { GameService } from "../../../gen/playsmart/games/v1/games_pb.js";
import { createDynamicClient } from "../../helpers/grpc-client.js";
import { startTestApp, testAdminToken, type TestApp } from "../../helpers/start-app.js";

const gameId = "com.example.guests";

interface PairBody {
  user_id: string;
  access_token: string;
  refresh_token: string;
}

describe("end to end: a guest plays, earns coins, links an email, and finds the same wallet on a second device", function () {
  this.timeout(30_000);
  let app: TestApp;

  before(async () => {
    app = await startTestApp({ name: "guest_journey", role: "all" });
    const games = createClient(GameService, createConnectTransport({ baseUrl: app.url, httpVersion: "1.1" }));
    await games.upsertGame({ game: { gameId, coinsEnabled: true, coinsPerLevel: 15n, dailyCoinCap: 0n } }, { headers: { authorization: `Bearer ${testAdminToken}` } });
  });
  after(() => app.close());

  const post = (path: string, body: unknown, token?: string) =>
    fetch(`${app.url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });
  const balance = async (token: string) => {
    const res = await fetch(`${app.url}/wallet`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200);
    return (await res.json()) as { user_id: string; balance: string };
  };
  const waitForBalance = async (token: string, expected: string) => {
    const deadline = Date.now() + 10_000;
    while ((await balance(token)).balance !== expected) {
      if (Date.now() > deadline) assert.fail(`balance never reached ${expected}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };

  it("one player throughout: device sign-in, coins, link, email login elsewhere, same wallet and events", async () => {
    // Phone 1: first launch, no email typed.
    const phone1 = `android-${randomUUID()}`;
    const guestRes = await post("/auth/device", { device_id: phone1 });
    assert.equal(guestRes.status, 201);
    const guest = (await guestRes.json()) as PairBody;

    // Two levels over REST (the clock of this phone is 3 hours fast), one over gRPC.
    const fast = Date.now() + 3 * 3_600_000;
    const levels = await post(
      "/ingest/events",
      {
        user_id: guest.user_id,
        game_id: gameId,
        sent_at: new Date(fast).toISOString(),
        events: [
          { type: "LevelCompleted", timestamp: new Date(fast - 60_000).toISOString(), event_id: "lvl-1" },
          { type: "LevelCompleted", timestamp: new Date(fast - 30_000).toISOString(), event_id: "lvl-2" },
        ],
      },
      guest.access_token,
    );
    assert.equal(levels.status, 202);
    const grpc = createDynamicClient(app.url, "playsmart/ingest/v1/ingest.proto", "playsmart.ingest.v1.IngestService");
    try {
      await grpc.call("IngestEvents", { user_id: guest.user_id, game_id: gameId, events: [{ type: "LevelCompleted", timestamp: new Date().toISOString(), event_id: "lvl-3" }] }, { authorization: `Bearer ${guest.access_token}` });
    } finally {
      grpc.close();
    }
    await waitForBalance(guest.access_token, "45");

    // The guest links an email; the token it holds keeps working.
    const email = `linked-${randomUUID()}@example.com`;
    const linked = await post("/auth/link", { email, password: "my new password" }, guest.access_token);
    assert.equal(linked.status, 200);
    assert.deepEqual(await linked.json(), { user_id: guest.user_id, email });
    assert.deepEqual(await balance(guest.access_token), { user_id: guest.user_id, balance: "45" });

    // Phone 2: logs in by email, sees the same player and wallet, and attaches itself.
    const login = await post("/auth/login", { email, password: "my new password" });
    assert.equal(login.status, 200);
    const second = (await login.json()) as PairBody;
    assert.equal(second.user_id, guest.user_id);
    assert.deepEqual(await balance(second.access_token), { user_id: guest.user_id, balance: "45" });
    const phone2 = `ios-${randomUUID()}`;
    assert.equal((await post("/auth/device", { device_id: phone2 }, second.access_token)).status, 200);

    // A level from phone 2 pays into the same wallet; phone 1's device sign-in is still that player.
    assert.equal(
      (await post("/ingest/events", { user_id: guest.user_id, game_id: gameId, events: [{ type: "LevelCompleted", timestamp: new Date().toISOString(), event_id: "lvl-4" }] }, second.access_token)).status,
      202,
    );
    await waitForBalance(second.access_token, "60");
    const again = (await (await post("/auth/device", { device_id: phone1 })).json()) as PairBody;
    assert.equal(again.user_id, guest.user_id);
    const fromPhone2 = (await (await post("/auth/device", { device_id: phone2 })).json()) as PairBody;
    assert.equal(fromPhone2.user_id, guest.user_id);

    const [events] = await app.pool.query<RowDataPacket[]>("SELECT event_id FROM events WHERE user_id = ? ORDER BY event_id", [guest.user_id]);
    assert.deepEqual(events.map((r) => r.event_id), ["lvl-1", "lvl-2", "lvl-3", "lvl-4"]);
    const [ledger] = await app.pool.query<RowDataPacket[]>("SELECT COUNT(*) AS n, SUM(amount) AS coins FROM coin_ledger WHERE user_id = ?", [guest.user_id]);
    assert.deepEqual([Number(ledger[0]!.n), Number(ledger[0]!.coins)], [4, 60]);
  });
});
