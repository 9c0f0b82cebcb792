import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import type { RowDataPacket } from "mysql2/promise";
import { PlayerAdminService } from "../../../gen/playsmart/admin/v1/players_pb.js";
import { GameService } from "../../../gen/playsmart/games/v1/games_pb.js";
import { createDynamicClient } from "../../helpers/grpc-client.js";
import { freePort } from "../../helpers/free-port.js";
import { seedEvents } from "../../helpers/seed-events.js";
import {
  registerPlayer,
  startTestApp,
  testAdminToken,
  testKeyId,
  testSigningKeyPem,
  type TestApp,
  type TestPlayer,
} from "../../helpers/start-app.js";
import { waitFor } from "../../helpers/wait-for.js";

const bin = fileURLToPath(new URL("../../../bin/playsmart.js", import.meta.url));
const game = "com.export.coins";


/** Peak resident memory of a running process, from /proc (kB -> MB). */
function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

describe("player export: PlayerAdminService.ExportPlayer and `playsmart players export`", function () {
  this.timeout(120_000);
  let app: TestApp;
  let player: TestPlayer;
  const admin = { headers: { authorization: `Bearer ${testAdminToken}` } };
  const env = () => ({ ...process.env, MYSQL_URL: app.config.mysqlUrl, STREAM_PREFIX: app.config.streamPrefix, LOG_LEVEL: "silent" });

  before(async () => {
    app = await startTestApp({ name: "export", role: "all" });
    const games = createClient(GameService, createConnectTransport({ baseUrl: app.url, httpVersion: "1.1" }));
    await games.upsertGame({ game: { gameId: game, coinsEnabled: true, coinsPerLevel: 7n } }, admin);
    player = await registerPlayer(app.url);
    const device = await fetch(`${app.url}/auth/device`, {
      method: "POST",
      headers: { authorization: `Bearer ${player.accessToken}`, "content-type": "application/json" },
      body: JSON.stringify({ device_id: "export-device-0001" }),
    });
    assert.equal(device.status, 200);
    const res = await fetch(`${app.url}/ingest/events`, {
      method: "POST",
      headers: { authorization: `Bearer ${player.accessToken}`, "content-type": "application/json" },
      body: JSON.stringify({
        user_id: player.userId,
        game_id: game,
        events: [
          { type: "AppOpen", timestamp: "2026-12-01T09:00:00+01:00", event_id: "x1" },
          { type: "LevelCompleted", timestamp: "2026-12-01T09:01:00+01:00", event_id: "x2", customdata: { level: 1 } },
          { type: "LevelCompleted", timestamp: "2026-12-01T09:02:00+01:00", event_id: "x3" },
        ],
      }),
    });
    assert.equal(res.status, 202);
    await waitFor("the batch stored and paid", async () => {
      const [rows] = await app.pool.query<RowDataPacket[]>("SELECT COUNT(*) AS n FROM coin_ledger WHERE user_id = ?", [player.userId]);
      return Number(rows[0]!.n) === 2;
    });
  });
  after(() => app.close());

  it("streams the account, devices, events, awards and wallet over gRPC (@grpc/grpc-js), never the password hash", async () => {
    const grpc = createDynamicClient(app.url, "playsmart/admin/v1/players.proto", "playsmart.admin.v1.PlayerAdminService");
    try {
      const records = await grpc.serverStream<Record<string, unknown> & { record: string }>(
        "ExportPlayer",
        { user_id: player.userId },
        { authorization: `Bearer ${testAdminToken}` },
      );
      assert.deepEqual(records.map((r) => r.record), ["account", "device", "event", "event", "event", "coin_award", "coin_award", "wallet"]);
      const account = records[0]!.account as Record<string, unknown>;
      assert.deepEqual(
        { ...account, created_at: typeof account.created_at },
        { user_id: player.userId, email: player.email, has_password: true, created_at: "string" },
      );
      const [, device] = records;
      assert.match((device!.device as { device_hash: string }).device_hash, /^[0-9a-f]{64}$/);
      const events = records.slice(2, 5).map((r) => r.event as { event_id: string; timestamp: string });
      assert.deepEqual(events.map((e) => e.event_id), ["x1", "x2", "x3"]);
      assert.equal(events[0]!.timestamp, "2026-12-01T09:00:00+01:00");
      const awards = records.slice(5, 7).map((r) => r.coin_award as { event_id: string; amount: string });
      assert.deepEqual(awards.map((a) => [a.event_id, a.amount]), [["x2", "7"], ["x3", "7"]]);
      assert.equal((records[7]!.wallet as { balance: string }).balance, "14");
      const [[hash]] = (await app.pool.query<RowDataPacket[]>("SELECT password_hash FROM users WHERE user_id = ?", [player.userId]))[0].map((r) => [r.password_hash as string]);
      assert.ok(!JSON.stringify(records).includes(hash!), "the export holds the password hash");
    } finally {
      grpc.close();
    }
  });

  it("streams the same over Connect, and refuses unknown players and player tokens", async () => {
    const client = createClient(PlayerAdminService, createConnectTransport({ baseUrl: app.url, httpVersion: "1.1" }));
    const kinds: Array<string | undefined> = [];
    for await (const m of client.exportPlayer({ userId: player.userId }, admin)) kinds.push(m.record.case);
    assert.deepEqual(kinds, ["account", "device", "event", "event", "event", "coinAward", "coinAward", "wallet"]);
    const collect = async (userId: string, options: { headers?: Record<string, string> }) => {
      for await (const _ of client.exportPlayer({ userId }, options)) void _;
    };
    await assert.rejects(collect("nobody-at-all", admin), (e: unknown) => e instanceof ConnectError && e.code === Code.NotFound);
    await assert.rejects(collect("", admin), (e: unknown) => e instanceof ConnectError && e.code === Code.InvalidArgument);
    await assert.rejects(
      collect(player.userId, { headers: { authorization: `Bearer ${player.accessToken}` } }),
      (e: unknown) => e instanceof ConnectError && e.code === Code.PermissionDenied,
    );
  });

  // Node's heap grows to its working size over the first ~100,000 records
  // (1,000 events: ~150 MB, 100,000: ~200 MB, 300,000: ~200 MB, measured), so
  // flat memory is 100,000 against 300,000 events: holding the extra 200,000
  // records would add well over 100 MB.
  it("exports 100,000 and 300,000 events in the same memory: the CLI's peak RSS and the gateway's", async () => {
    const small = `export-100k-${process.pid}`;
    const big = `export-300k-${process.pid}`;
    await seedEvents(app.pool, small, 100_000);
    await seedEvents(app.pool, big, 300_000);

    // The CLI, its NDJSON read line by line as it comes.
    const cliExport = async (userId: string) => {
      const child = spawn(process.execPath, [bin, "players", "export", userId], { env: env(), stdio: ["ignore", "pipe", "inherit"] });
      let lines = 0;
      let peak = 0;
      let last = "";
      const sampler = setInterval(() => {
        try {
          peak = Math.max(peak, peakRssMb(child.pid!));
        } catch {
          // exited between samples
        }
      }, 20);
      for await (const line of createInterface({ input: child.stdout! })) {
        lines++;
        last = line;
        // Read the peak while the process is surely alive, near the end of its work.
        if (lines % 10_000 === 0) peak = Math.max(peak, peakRssMb(child.pid!));
      }
      clearInterval(sampler);
      const code = await new Promise<number | null>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.on("exit", resolve)));
      return { lines, peak, code, last };
    };
    const a = await cliExport(small);
    const b = await cliExport(big);
    assert.equal(a.code, 0);
    assert.equal(b.code, 0);
    assert.equal(a.lines, 100_000);
    assert.equal(b.lines, 300_000);
    const lastEvent = JSON.parse(b.last) as { event: { event_id: string; customdata: unknown } };
    assert.equal(lastEvent.event.event_id, "s300000");
    assert.deepEqual(lastEvent.event.customdata, { level: 7, tag: "seeded" });
    console.log(`      players export: peak RSS ${a.peak.toFixed(0)} MB at 100,000 events, ${b.peak.toFixed(0)} MB at 300,000`);
    assert.ok(b.peak - a.peak < 40, `peak RSS grew ${(b.peak - a.peak).toFixed(0)} MB from 100,000 to 300,000 events`);

    // The RPC, from a gateway of its own (so its RSS is its own), read by grpc-js.
    const port = await freePort();
    const serve: ChildProcess = spawn(process.execPath, [bin, "serve", "--role", "gateway"], {
      env: {
        ...env(),
        PORT: String(port),
        HOST: "127.0.0.1",
        JWT_PRIVATE_KEY: testSigningKeyPem,
        JWT_KEY_ID: testKeyId,
        ADMIN_TOKEN: testAdminToken,
        STREAM_SHARDS: "1",
        LOG_LEVEL: "info",
      },
      stdio: ["ignore", "pipe", "inherit"],
    });
    try {
      let out = "";
      serve.stdout!.on("data", (c: Buffer) => (out += c.toString()));
      await waitFor("the gateway to listen", async () => out.includes('"msg":"listening"'), 30_000);
      const grpc = createDynamicClient(`http://127.0.0.1:${port}`, "playsmart/admin/v1/players.proto", "playsmart.admin.v1.PlayerAdminService");
      try {
        const auth = { authorization: `Bearer ${testAdminToken}`, timeoutMs: 60_000 };
        const smallRecords = await grpc.serverStream("ExportPlayer", { user_id: small }, auth);
        const afterSmall = peakRssMb(serve.pid!);
        const bigRecords = await grpc.serverStream("ExportPlayer", { user_id: big }, auth);
        const afterBig = peakRssMb(serve.pid!);
        assert.equal(smallRecords.length, 100_000);
        assert.equal(bigRecords.length, 300_000);
        console.log(`      ExportPlayer: gateway peak RSS ${afterSmall.toFixed(0)} MB after 100,000 events, ${afterBig.toFixed(0)} MB after 300,000`);
        assert.ok(afterBig - afterSmall < 40, `gateway peak RSS grew ${(afterBig - afterSmall).toFixed(0)} MB from 100,000 to 300,000 events`);
      } finally {
        grpc.close();
      }
    } finally {
      serve.kill("SIGTERM");
      await new Promise((r) => serve.once("exit", r));
    }
  });
});
