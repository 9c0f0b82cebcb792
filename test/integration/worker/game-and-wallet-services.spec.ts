import assert from "node:assert/strict";
import { createContextValues, createHandlerContext, type HandlerContext } from "@connectrpc/connect";
import type { DescMethod } from "@bufbuild/protobuf";
import { create } from "@bufbuild/protobuf";
import {
  GameSchema,
  GameService,
  GetGameRequestSchema,
  ListGamesRequestSchema,
  UpsertGameRequestSchema,
} from "../../../gen/playsmart/games/v1/games_pb.js";
import {
  GetBalanceRequestSchema,
  ListLedgerRequestSchema,
  WalletService,
} from "../../../gen/playsmart/wallet/v1/wallet_pb.js";
import { principalKey, type Principal } from "../../../src/auth/principal.js";
import { NotFoundError, PermissionDeniedError, UnauthenticatedError, ValidationError } from "../../../src/errors.js";
import { createGameService } from "../../../src/games/game-service.js";
import { createGames } from "../../../src/games/games.js";
import { createWalletService } from "../../../src/wallet/wallet-service.js";
import { createWallets } from "../../../src/wallet/wallets.js";
import {
  createDrainTestEnv,
  makeBatch,
  mixedEvents,
  startTestWorker,
  stopAllWorkers,
  streamBacklog,
  waitFor,
  type DrainTestEnv,
} from "./worker-harness.js";

function ctx(method: DescMethod, principal: Principal): HandlerContext {
  return createHandlerContext({
    service: method.parent,
    method,
    protocolName: "connect",
    requestMethod: "POST",
    url: `http://localhost/${method.parent.typeName}/${method.name}`,
    contextValues: createContextValues().set(principalKey, principal),
  });
}

const admin: Principal = { kind: "admin" };
const player = (userId: string): Principal => ({ kind: "player", userId });

const violationsOf = (err: unknown) => (err instanceof ValidationError ? err.violations.map((v) => v.field) : []);

describe("GameService and WalletService", function () {
  let env: DrainTestEnv;
  before(async () => {
    env = await createDrainTestEnv("services");
  });
  afterEach(stopAllWorkers);
  after(async () => env.close());

  describe("GameService", () => {
    const service = () => createGameService({ games: createGames({ pool: env.pool }) });
    const upsert = GameService.method.upsertGame;
    const get = GameService.method.getGame;
    const list = GameService.method.listGames;
    const game = (gameId: string, more: Partial<{ coinsEnabled: boolean; coinsPerLevel: bigint; dailyCoinCap: bigint }> = {}) =>
      create(UpsertGameRequestSchema, { game: create(GameSchema, { gameId, ...more }) });

    it("creates, replaces and reads a game for the admin", async () => {
      const s = service();
      const created = await s.upsertGame(game("com.svc.alpha", { coinsEnabled: true, coinsPerLevel: 5n, dailyCoinCap: 100n }), ctx(upsert, admin));
      assert.deepEqual(created, { game: { gameId: "com.svc.alpha", coinsEnabled: true, coinsPerLevel: 5n, dailyCoinCap: 100n } });
      await s.upsertGame(game("com.svc.alpha", { coinsEnabled: false, coinsPerLevel: 7n }), ctx(upsert, admin));
      const got = await s.getGame(create(GetGameRequestSchema, { gameId: "com.svc.alpha" }), ctx(get, admin));
      assert.deepEqual(got, { game: { gameId: "com.svc.alpha", coinsEnabled: false, coinsPerLevel: 7n, dailyCoinCap: 0n } });
    });

    it("lists games by id a page at a time", async () => {
      const s = service();
      for (const id of ["com.svc.list5", "com.svc.list1", "com.svc.list3", "com.svc.list2", "com.svc.list4"]) {
        await s.upsertGame(game(id), ctx(upsert, admin));
      }
      const seen: string[] = [];
      let pageToken = "";
      let pages = 0;
      do {
        const page = await s.listGames(create(ListGamesRequestSchema, { pageSize: 2, pageToken }), ctx(list, admin));
        seen.push(...(page.games ?? []).map((g) => g.gameId!));
        pageToken = page.nextPageToken ?? "";
        pages++;
      } while (pageToken !== "");
      assert.deepEqual(seen, ["com.svc.alpha", "com.svc.list1", "com.svc.list2", "com.svc.list3", "com.svc.list4", "com.svc.list5"]);
      assert.equal(pages, 3);
      await assert.rejects(
        async () => s.listGames(create(ListGamesRequestSchema, { pageToken: "garbage!" }), ctx(list, admin)),
        (err) => violationsOf(err).includes("page_token"),
      );
      await assert.rejects(
        async () => s.listGames(create(ListGamesRequestSchema, { pageSize: -1 }), ctx(list, admin)),
        (err) => violationsOf(err).includes("page_size"),
      );
    });

    it("refuses bad ids and negative amounts, naming every field", async () => {
      const s = service();
      await assert.rejects(
        async () => s.upsertGame(game("not a bundle id", { coinsPerLevel: -1n, dailyCoinCap: -5n }), ctx(upsert, admin)),
        (err) => {
          assert.deepEqual(violationsOf(err), ["game.game_id", "game.coins_per_level", "game.daily_coin_cap"]);
          return true;
        },
      );
      await assert.rejects(async () => s.upsertGame(create(UpsertGameRequestSchema, {}), ctx(upsert, admin)), (err) => violationsOf(err).includes("game"));
      await assert.rejects(async () => s.getGame(create(GetGameRequestSchema, { gameId: "com.svc.missing" }), ctx(get, admin)), NotFoundError);
      await assert.rejects(async () => s.getGame(create(GetGameRequestSchema, { gameId: "" }), ctx(get, admin)), ValidationError);
    });

    it("refuses players and anonymous callers on every method", async () => {
      const s = service();
      for (const [principal, error] of [[player("p1"), PermissionDeniedError], [{ kind: "anonymous" }, UnauthenticatedError], [{ kind: "invalid" }, UnauthenticatedError]] as const) {
        await assert.rejects(async () => s.upsertGame(game("com.svc.nope"), ctx(upsert, principal)), error);
        await assert.rejects(async () => s.getGame(create(GetGameRequestSchema, { gameId: "com.svc.alpha" }), ctx(get, principal)), error);
        await assert.rejects(async () => s.listGames(create(ListGamesRequestSchema, {}), ctx(list, principal)), error);
      }
      const got = await createGames({ pool: env.pool }).get("com.svc.alpha");
      assert.equal(got.coinsPerLevel, 7n, "nothing changed");
    });
  });

  describe("WalletService", () => {
    const service = () => createWalletService({ wallets: createWallets({ pool: env.pool }) });
    const balance = WalletService.method.getBalance;
    const ledger = WalletService.method.listLedger;

    it("answers 0 for a player who never earned coins", async () => {
      const got = await service().getBalance(create(GetBalanceRequestSchema, {}), ctx(balance, player("nobody")));
      assert.deepEqual(got, { userId: "nobody", balance: 0n });
      assert.equal(await createWallets({ pool: env.pool }).getBalance("nobody"), 0n);
    });

    it("shows what the worker paid: the balance and the ledger newest first, paged", async () => {
      await createGames({ pool: env.pool }).upsert({ gameId: "com.svc.wallet", coinsEnabled: true, coinsPerLevel: 3n, dailyCoinCap: 0n });
      const w = await startTestWorker(env);
      // 45 awards (90 events, every other one LevelCompleted) in three batches.
      for (let b = 0; b < 3; b++) {
        await env.producer.append(makeBatch({ userId: "earner", gameId: "com.svc.wallet", events: mixedEvents(30, `b${b}`) }));
      }
      await env.producer.append(makeBatch({ userId: "other-earner", gameId: "com.svc.wallet", events: mixedEvents(2) }));
      await waitFor("the batches drained", async () => w.worker.stats.entriesRead === 4 && (await streamBacklog(env)).length === 0);

      const s = service();
      assert.deepEqual(await s.getBalance(create(GetBalanceRequestSchema, {}), ctx(balance, player("earner"))), { userId: "earner", balance: 135n });

      const pages: string[][] = [];
      let pageToken = "";
      do {
        const page = await s.listLedger(create(ListLedgerRequestSchema, { pageToken }), ctx(ledger, player("earner")));
        for (const e of page.entries ?? []) {
          assert.equal(e.gameId, "com.svc.wallet");
          assert.equal(e.amount, 3n);
          assert.match(e.createdAt!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
        }
        pages.push((page.entries ?? []).map((e) => e.eventId!));
        pageToken = page.nextPageToken ?? "";
      } while (pageToken !== "");
      assert.deepEqual(pages.map((p) => p.length), [20, 20, 5], "default page size 20");
      const expected = [2, 1, 0].flatMap((b) => Array.from({ length: 15 }, (_, i) => `b${b}-${28 - 2 * i}`));
      assert.deepEqual(pages.flat(), expected, "newest first, no row twice, none missing");

      const big = await s.listLedger(create(ListLedgerRequestSchema, { pageSize: 1000 }), ctx(ledger, player("earner")));
      assert.equal(big.entries?.length, 45, "a page holds at most 100");
      const other = await s.listLedger(create(ListLedgerRequestSchema, {}), ctx(ledger, player("other-earner")));
      assert.equal(other.entries?.length, 1, "each player sees only their own awards");
    });

    it("refuses bad page tokens and sizes, and callers without a player token", async () => {
      const s = service();
      for (const pageToken of ["%%%", Buffer.from("12abc").toString("base64url"), Buffer.from("0").toString("base64url")]) {
        await assert.rejects(
          async () => s.listLedger(create(ListLedgerRequestSchema, { pageToken }), ctx(ledger, player("earner"))),
          (err) => violationsOf(err).includes("page_token"),
          `token ${pageToken}`,
        );
      }
      await assert.rejects(
        async () => s.listLedger(create(ListLedgerRequestSchema, { pageSize: -3 }), ctx(ledger, player("earner"))),
        (err) => violationsOf(err).includes("page_size"),
      );
      await assert.rejects(async () => s.getBalance(create(GetBalanceRequestSchema, {}), ctx(balance, admin)), PermissionDeniedError);
      await assert.rejects(async () => s.getBalance(create(GetBalanceRequestSchema, {}), ctx(balance, { kind: "anonymous" })), UnauthenticatedError);
      await assert.rejects(async () => s.listLedger(create(ListLedgerRequestSchema, {}), ctx(ledger, { kind: "invalid" })), UnauthenticatedError);
    });
  });
});
