import assert from "node:assert/strict";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import type { RowDataPacket } from "mysql2/promise";
import { EventAdminService, TimeField } from "../../../gen/playsmart/admin/v1/events_pb.js";
import { BadRequestSchema } from "../../../gen/playsmart/common/v1/errors_pb.js";
import { runEventsCommand } from "../../../src/cli/events-command.js";
import { createDynamicClient } from "../../helpers/grpc-client.js";
import { registerPlayer, startTestApp, testAdminToken, type TestApp, type TestPlayer } from "../../helpers/start-app.js";
import { waitFor } from "../../helpers/wait-for.js";


describe("EventAdminService.ListEvents and `playsmart events list`", function () {
  this.timeout(30_000);
  let app: TestApp;
  let player: TestPlayer;
  let other: TestPlayer;
  const admin = { headers: { authorization: `Bearer ${testAdminToken}` } };
  const client = () => createClient(EventAdminService, createConnectTransport({ baseUrl: app.url, httpVersion: "1.1" }));

  const ingest = async (who: TestPlayer, body: Record<string, unknown>) => {
    const res = await fetch(`${app.url}/ingest/events`, {
      method: "POST",
      headers: { authorization: `Bearer ${who.accessToken}`, "content-type": "application/json" },
      body: JSON.stringify({ user_id: who.userId, ...body }),
    });
    const text = await res.text();
    assert.equal(res.status, 202, text);
    return (JSON.parse(text) as { batch_id: string }).batch_id;
  };
  const storedCount = async (userId: string) => {
    const [rows] = await app.pool.query<RowDataPacket[]>("SELECT COUNT(*) AS n FROM events WHERE user_id = ?", [userId]);
    return Number(rows[0]!.n);
  };

  // Three batches, received in this order (each stored before the next is sent):
  //   b1 com.ex.alpha: a1 AppOpen, a2 LevelCompleted {"level":3}
  //   b2 com.ex.beta:  b1 Custom "shop_open" {"tab":"gems","n":[1,2]}, sent by a device clock 1 h fast
  //   b3 com.ex.alpha: a3 GameEnd at +05:30
  let batchIds: string[] = [];
  before(async () => {
    app = await startTestApp({ name: "explorer", role: "all" });
    player = await registerPlayer(app.url);
    other = await registerPlayer(app.url);
    batchIds = [];
    batchIds.push(
      await ingest(player, {
        game_id: "com.ex.alpha",
        events: [
          { type: "AppOpen", timestamp: "2026-11-01T10:00:00Z", event_id: "a1" },
          { type: "LevelCompleted", timestamp: "2026-11-01T10:05:00.250Z", event_id: "a2", customdata: { level: 3 } },
        ],
      }),
    );
    await waitFor("batch 1 stored", async () => (await storedCount(player.userId)) === 2);
    await new Promise((r) => setTimeout(r, 5));
    const fastClock = new Date(Date.now() + 3_600_000).toISOString();
    batchIds.push(
      await ingest(player, {
        game_id: "com.ex.beta",
        sent_at: fastClock,
        events: [
          { type: "Custom", custom_event_name: "shop_open", timestamp: fastClock, event_id: "b1", customdata: { tab: "gems", n: [1, 2] } },
        ],
      }),
    );
    await waitFor("batch 2 stored", async () => (await storedCount(player.userId)) === 3);
    await new Promise((r) => setTimeout(r, 5));
    batchIds.push(
      await ingest(player, { game_id: "com.ex.alpha", events: [{ type: "GameEnd", timestamp: "2026-11-01T20:00:00.5+05:30", event_id: "a3" }] }),
    );
    await ingest(other, { game_id: "com.ex.alpha", events: [{ type: "AppOpen", timestamp: "2026-11-01T10:00:00Z", event_id: "o1" }] });
    await waitFor("every batch stored", async () => (await storedCount(player.userId)) === 4 && (await storedCount(other.userId)) === 1);
  });
  after(() => app.close());

  it("lists a player's events newest first by receive time, with customdata as JSON and the original offset", async () => {
    const res = await client().listEvents({ userId: player.userId }, admin);
    assert.deepEqual(res.events.map((e) => e.eventId), ["a3", "b1", "a2", "a1"]);
    assert.equal(res.nextPageToken, "");
    const [a3, b1, a2, a1] = res.events;
    assert.equal(a3!.timestamp, "2026-11-01T20:00:00.5+05:30");
    assert.equal(a3!.correctedAt, "2026-11-01T14:30:00.5Z");
    assert.equal(a3!.batchId, batchIds[2]);
    assert.equal(a3!.customdata, undefined);
    assert.deepEqual(b1!.customdata, { tab: "gems", n: [1, 2] });
    assert.equal(b1!.type, "Custom");
    assert.equal(b1!.customEventName, "shop_open");
    assert.equal(b1!.gameId, "com.ex.beta");
    // Sent by a clock 1 h fast at the moment it was sent: corrected to about the receive time.
    assert.ok(Math.abs(Date.parse(b1!.correctedAt) - Date.parse(b1!.receivedAt)) < 1000, `${b1!.correctedAt} vs ${b1!.receivedAt}`);
    assert.deepEqual(a2!.customdata, { level: 3 });
    assert.equal(a2!.timestamp, "2026-11-01T10:05:00.25Z");
    assert.equal(a1!.timestamp, "2026-11-01T10:00:00Z");
    assert.equal(a1!.batchId, batchIds[0]);
    const received = res.events.map((e) => Date.parse(e.receivedAt));
    assert.deepEqual([...received].sort((x, y) => y - x), received);
  });

  it("pages with next_page_token until the last page, seeing every event once", async () => {
    const seen: string[] = [];
    let pageToken = "";
    let pages = 0;
    do {
      const res = await client().listEvents({ userId: player.userId, pageSize: 3, pageToken }, admin);
      seen.push(...res.events.map((e) => e.eventId));
      pageToken = res.nextPageToken;
      pages++;
    } while (pageToken !== "");
    assert.deepEqual(seen, ["a3", "b1", "a2", "a1"]);
    assert.equal(pages, 2);
    const one = await client().listEvents({ userId: player.userId, pageSize: 1 }, admin);
    const two = await client().listEvents({ userId: player.userId, pageSize: 1, pageToken: one.nextPageToken }, admin);
    assert.deepEqual([...one.events, ...two.events].map((e) => e.eventId), ["a3", "b1"]);
  });

  it("filters by game, by type and by a receive-time range", async () => {
    const ids = async (req: Record<string, unknown>) =>
      (await client().listEvents({ userId: player.userId, ...req }, admin)).events.map((e) => e.eventId);
    assert.deepEqual(await ids({ gameId: "com.ex.alpha" }), ["a3", "a2", "a1"]);
    assert.deepEqual(await ids({ gameId: "com.ex.alpha", type: "LevelCompleted" }), ["a2"]);
    assert.deepEqual(await ids({ type: "Custom" }), ["b1"]);
    assert.deepEqual(await ids({ gameId: "com.ex.none" }), []);
    const all = (await client().listEvents({ userId: player.userId }, admin)).events;
    const b1At = all[1]!.receivedAt;
    assert.deepEqual(await ids({ since: b1At }), ["a3", "b1"]);
    assert.deepEqual(await ids({ until: b1At }), ["a2", "a1"]);
    assert.deepEqual(await ids({ since: b1At, until: all[0]!.receivedAt }), ["b1"]);
  });

  it("bounds by corrected time when asked, still newest first by receive time", async () => {
    const corrected = (more: Record<string, unknown>) => client().listEvents({ userId: player.userId, timeField: TimeField.CORRECTED, ...more }, admin);
    assert.deepEqual((await corrected({})).events.map((e) => e.eventId), ["a3", "b1", "a2", "a1"]);
    // a2 10:05:00.25Z and a3 14:30:00.5Z on 1 November; b1 was corrected to now.
    const range = await corrected({ since: "2026-11-01T10:00:00.001Z", until: "2026-11-01T14:30:00.5Z" });
    assert.deepEqual(range.events.map((e) => e.eventId), ["a2"]);
    assert.deepEqual((await corrected({ since: "2026-11-01T10:00:00.001Z", until: "2026-11-01T14:30:00.501Z" })).events.map((e) => e.eventId), ["a3", "a2"]);
    assert.deepEqual((await corrected({ since: "2026-11-02T00:00:00Z" })).events.map((e) => e.eventId), ["b1"]);
    const paged = await corrected({ pageSize: 2 });
    const rest = await corrected({ pageSize: 2, pageToken: paged.nextPageToken });
    assert.deepEqual([...paged.events, ...rest.events].map((e) => e.eventId), ["a3", "b1", "a2", "a1"]);
    assert.equal(rest.nextPageToken, "");
    // A receive-time token does not page a corrected-time listing.
    const receivedPage = await client().listEvents({ userId: player.userId, pageSize: 2 }, admin);
    await assert.rejects(
      corrected({ pageToken: receivedPage.nextPageToken }),
      (e: unknown) => e instanceof ConnectError && e.code === Code.InvalidArgument && /page_token/.test(e.rawMessage),
    );
  });

  it("refuses bad fields with invalid_argument naming each", async () => {
    const refused = async (req: Record<string, unknown>) => {
      try {
        await client().listEvents({ userId: player.userId, ...req }, admin);
      } catch (e) {
        assert.ok(e instanceof ConnectError);
        assert.equal(e.code, Code.InvalidArgument);
        return e.rawMessage;
      }
      return assert.fail("accepted");
    };
    assert.match(await refused({ userId: "" }), /user_id: is required/);
    assert.match(await refused({ gameId: "not a game" }), /game_id/);
    assert.match(await refused({ type: "Jump" }), /type: must be one of/);
    assert.match(await refused({ since: "yesterday" }), /since: must be an ISO 8601 date-time/);
    assert.match(await refused({ since: "2026-11-02T00:00:00Z", until: "2026-11-01T00:00:00Z" }), /until: must be later than since/);
    assert.match(await refused({ pageSize: -1 }), /page_size/);
    assert.match(await refused({ pageToken: "bm90LWEtdG9rZW4" }), /page_token/);
    // Every violation at once, in the BadRequest detail.
    const err = await client().listEvents({ userId: player.userId, type: "Jump", since: "x" }, admin).catch((e: unknown) => e);
    assert.ok(err instanceof ConnectError);
    assert.deepEqual(err.findDetails(BadRequestSchema)[0]?.violations.map((v) => v.field), ["type", "since"]);
  });

  it("is for the admin token only", async () => {
    await assert.rejects(
      client().listEvents({ userId: player.userId }, { headers: { authorization: `Bearer ${player.accessToken}` } }),
      (e: unknown) => e instanceof ConnectError && e.code === Code.PermissionDenied,
    );
    await assert.rejects(client().listEvents({ userId: player.userId }), (e: unknown) => e instanceof ConnectError && e.code === Code.Unauthenticated);
  });

  it("answers over gRPC (@grpc/grpc-js) and Connect's gRPC transport the same", async () => {
    const grpc = createDynamicClient(app.url, "playsmart/admin/v1/events.proto", "playsmart.admin.v1.EventAdminService");
    try {
      const res = await grpc.call<{ events: Array<{ event_id: string; customdata: unknown }> }>(
        "ListEvents",
        { user_id: player.userId, game_id: "com.ex.alpha" },
        { authorization: `Bearer ${testAdminToken}` },
      );
      assert.deepEqual(res.events.map((e) => e.event_id), ["a3", "a2", "a1"]);
    } finally {
      grpc.close();
    }
    const viaGrpc = createClient(EventAdminService, createGrpcTransport({ baseUrl: app.url }));
    const res = await viaGrpc.listEvents({ userId: player.userId, type: "Custom" }, admin);
    assert.deepEqual(res.events[0]!.customdata, { tab: "gems", n: [1, 2] });
  });

  it("`playsmart events list` prints the table, and --json one event per line", async () => {
    const lines: string[] = [];
    const errs: string[] = [];
    const code = await runEventsCommand(["list", "--user", player.userId, "--game", "com.ex.alpha"], app.config, (l) => lines.push(l), (l) => errs.push(l));
    assert.equal(code, 0, errs.join("\n"));
    const table = lines.join("\n").split("\n");
    assert.match(table[0]!, /^received_at\s+game_id\s+type\s+event_id\s+customdata$/);
    assert.deepEqual(table.slice(2).map((l) => l.split(/\s+/)[3]), ["a3", "a2", "a1"]);
    assert.match(table[3]!, /LevelCompleted\s+a2\s+\{"level":3\}$/);

    const json: string[] = [];
    assert.equal(await runEventsCommand(["list", "--user", player.userId, "--json", "--limit", "2"], app.config, (l) => json.push(l)), 0);
    assert.equal(json.length, 2);
    const first = JSON.parse(json[0]!) as Record<string, unknown>;
    assert.equal(first.event_id, "a3");
    assert.equal(first.timestamp, "2026-11-01T20:00:00.5+05:30");
    assert.deepEqual((JSON.parse(json[1]!) as { customdata: unknown }).customdata, { tab: "gems", n: [1, 2] });

    const bad: string[] = [];
    assert.equal(await runEventsCommand(["list", "--user", player.userId, "--type", "Jump"], app.config, () => {}, (l) => bad.push(l)), 2);
    assert.match(bad.join("\n"), /type: must be one of/);
    assert.equal(await runEventsCommand(["list"], app.config, () => {}, () => {}), 2);
  });
});
