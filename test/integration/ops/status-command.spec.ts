import assert from "node:assert/strict";
import { runStatusCommand } from "../../../src/cli/status-command.js";
import type { StatusReport } from "../../../src/cli/status-report.js";
import { registerPlayer, startTestApp, type TestApp, type TestPlayer } from "../../helpers/start-app.js";

describe("playsmart status (CLI)", function () {
  this.timeout(30_000);
  let gateway: TestApp;
  let player: TestPlayer;

  before(async () => {
    // Two shards and no worker yet: the backlog waits.
    gateway = await startTestApp({ name: "status_cli", env: { STREAM_SHARDS: "2" } });
    player = await registerPlayer(gateway.url);
  });
  after(() => gateway.close());

  const run = async (...args: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runStatusCommand(args, gateway.config, (t) => out.push(t), (l) => err.push(l));
    return { code, out, err };
  };
  const ingest = async (n: number) => {
    for (let i = 0; i < n; i++) {
      const res = await fetch(`${gateway.url}/ingest/events`, {
        method: "POST",
        headers: { authorization: `Bearer ${player.accessToken}`, "content-type": "application/json" },
        body: JSON.stringify({ user_id: player.userId, game_id: "com.example.status", events: [{ type: "AppOpen", timestamp: "2026-11-26T09:15:00Z" }] }),
      });
      assert.equal(res.status, 202);
    }
  };

  it("shows each shard's backlog, no lease holder and the lag while no worker runs, then the worker's lease and an empty backlog", async () => {
    await ingest(3);
    await new Promise((r) => setTimeout(r, 50));
    const before = await run("--json");
    assert.equal(before.code, 0, before.err.join("\n"));
    const report = JSON.parse(before.out[0]!) as StatusReport;
    assert.equal(report.shards.length, 2);
    // All of one player's batches go to one shard.
    const busy = report.shards.find((s) => s.backlog > 0)!;
    assert.deepEqual(report.shards.map((s) => s.backlog).sort(), [0, 3]);
    assert.equal(busy.pending, 0);
    assert.equal(busy.leaseHolder, null);
    assert.ok(busy.lagMs! >= 50 && busy.lagMs! < 10_000, `lag ${busy.lagMs}`);
    assert.equal(report.shards.find((s) => s !== busy)!.lagMs, null);
    assert.deepEqual(report.workers, []);
    assert.equal(report.deadLetterRows, 0);
    assert.ok("events" in report.tableRows && "users" in report.tableRows && "devices" in report.tableRows);
    const text = await run();
    assert.match(text.out[0]!, /^playsmart status at /);
    assert.match(text.out[0]!, new RegExp(`\\n\\s+${busy.shard}\\s+3\\s+0\\s+\\S+ (ms|s)\\s+0\\s+NONE: nobody drains this shard`));

    const worker = await startTestApp({ name: "status_cli", role: "worker", env: { STREAM_SHARDS: "2" } });
    try {
      const deadline = Date.now() + 10_000;
      let after: StatusReport;
      for (;;) {
        after = JSON.parse((await run("--json")).out[0]!) as StatusReport;
        if (after.shards.every((s) => s.backlog === 0 && s.leaseHolder !== null)) break;
        if (Date.now() > deadline) assert.fail(`not drained: ${JSON.stringify(after.shards)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.deepEqual(after.shards.map((s) => [s.lagMs, s.pending]), [[null, 0], [null, 0]]);
      assert.equal(new Set(after.shards.map((s) => s.leaseHolder)).size, 1);
      assert.deepEqual(after.workers.map((w) => w.name), [after.shards[0]!.leaseHolder]);
    } finally {
      await worker.close();
    }
  });

  it("--watch refreshes until stopped, and a bad argument is exit code 2", async () => {
    const frames: string[] = [];
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 350);
    const code = await runStatusCommand(["--watch"], gateway.config, (t) => frames.push(t), undefined, { signal: controller.signal, intervalMs: 100 });
    assert.equal(code, 0);
    assert.ok(frames.length >= 3, `${frames.length} frames`);
    assert.ok(frames.every((f) => f.startsWith("\x1b[H\x1b[2Jplaysmart status at ")));
    const bad = await run("--shards");
    assert.equal(bad.code, 2);
    assert.match(bad.err[0]!, /^playsmart status: unknown --shards/);
  });
});
