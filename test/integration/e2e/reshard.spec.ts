import assert from "node:assert/strict";
import type { RowDataPacket } from "mysql2/promise";
import { createRedisClient } from "../../../src/stream/redis-client.js";
import { readStreamGauges } from "../../../src/stream/stream-gauges.js";
import { waitDrained } from "../../../src/stream/wait-drained.js";
import { registerPlayer, startTestApp, type TestApp, type TestPlayer } from "../../helpers/start-app.js";
import { redisUrl } from "../../helpers/test-env.js";

describe("changing STREAM_SHARDS by drain-and-switch", function () {
  this.timeout(60_000);

  it("loses nothing and keeps every player's order across the switch from 2 to 4 shards", async () => {
    const two = { STREAM_SHARDS: "2" };
    const four = { STREAM_SHARDS: "4" };
    let gateway = await startTestApp({ name: "reshard", role: "gateway", env: two });
    let worker = await startTestApp({ name: "reshard", role: "worker", env: two });
    const prefix = gateway.config.streamPrefix;
    const redis = createRedisClient({ url: redisUrl, name: "reshard-test" });
    try {
      const team: TestPlayer[] = await Promise.all(Array.from({ length: 6 }, () => registerPlayer(gateway.url)));
      const round = async (app: TestApp, tag: string) => {
        await Promise.all(
          team.map(async (p) => {
            for (let b = 0; b < 5; b++) {
              const events = Array.from({ length: 4 }, (_, e) => ({ type: "GameEnd", timestamp: "2026-11-26T09:15:00Z", event_id: `${tag}-b${b}-e${e}` }));
              const res = await fetch(`${app.url}/ingest/events`, {
                method: "POST",
                headers: { authorization: `Bearer ${p.accessToken}`, "content-type": "application/json" },
                body: JSON.stringify({ user_id: p.userId, game_id: "com.example.reshard", events }),
              });
              assert.equal(res.status, 202);
            }
          }),
        );
      };

      await round(gateway, "r1");
      // 1. Stop ingest (here: stop the gateways; clients retry meanwhile).
      await gateway.close();
      // 2. Let the workers drain the old layout completely.
      await waitDrained({ redis, prefix, shards: 2, timeoutMs: 20_000 });
      // 3. Restart workers and gateways with the new shard count.
      await worker.close();
      worker = await startTestApp({ name: "reshard", role: "worker", env: four });
      gateway = await startTestApp({ name: "reshard", role: "gateway", env: four });
      await round(gateway, "r2");
      await waitDrained({ redis, prefix, shards: 4, timeoutMs: 20_000 });

      const ids = team.map((p) => p.userId);
      const [counts] = await gateway.pool.query<RowDataPacket[]>(
        "SELECT LEFT(event_id, 2) AS r, COUNT(*) AS n FROM events WHERE user_id IN (?) GROUP BY LEFT(event_id, 2) ORDER BY r",
        [ids],
      );
      assert.deepEqual(counts.map((c) => [c.r, Number(c.n)]), [["r1", 120], ["r2", 120]]);
      const [order] = await gateway.pool.query<RowDataPacket[]>(
        `SELECT user_id,
                MAX(CASE WHEN event_id LIKE 'r1-%' THEN stored_at END) AS last_r1,
                MIN(CASE WHEN event_id LIKE 'r2-%' THEN stored_at END) AS first_r2
           FROM events WHERE user_id IN (?) GROUP BY user_id`,
        [ids],
      );
      for (const o of order) assert.ok(String(o.last_r1) <= String(o.first_r2), `${o.user_id}: old layout stored first`);
      // The new layout really spread players over more shards.
      const used = (await readStreamGauges(redis, prefix, 4)).length;
      assert.equal(used, 4);
    } finally {
      redis.disconnect();
      await worker.close();
      await gateway.close();
    }
  });
});
