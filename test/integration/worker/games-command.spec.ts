import assert from "node:assert/strict";
import { runGamesCommand } from "../../../src/cli/games-command.js";
import { loadConfig, type Config } from "../../../src/config.js";
import { testMysqlUrl } from "../../helpers/test-env.js";

describe("playsmart games (CLI)", () => {
  // A database no other file touches: the command migrates it itself.
  const config: Config = loadConfig({ MYSQL_URL: testMysqlUrl("games_cli") });

  async function run(...args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runGamesCommand(args, config, (l) => out.push(l), (l) => err.push(l));
    return { code, out, err };
  }

  it("upserts, gets and lists games as Protobuf JSON", async () => {
    const up = await run("upsert", "com.cli.game", "--coins-enabled", "--coins-per-level", "5", "--daily-coin-cap=50");
    assert.equal(up.code, 0, up.err.join("\n"));
    const expected = { game_id: "com.cli.game", coins_enabled: true, coins_per_level: "5", daily_coin_cap: "50" };
    assert.deepEqual(up.out.map((l) => JSON.parse(l)), [expected]);

    const got = await run("get", "com.cli.game");
    assert.equal(got.code, 0);
    assert.deepEqual(got.out.map((l) => JSON.parse(l)), [expected]);

    // A flag left out means disabled / 0: upsert replaces the rules.
    assert.equal((await run("upsert", "com.cli.game", "--coins-per-level", "2")).code, 0);
    assert.equal((await run("upsert", "com.cli.another")).code, 0);
    const listed = await run("list");
    assert.equal(listed.code, 0);
    assert.deepEqual(listed.out.map((l) => JSON.parse(l)), [
      { game_id: "com.cli.another", coins_enabled: false, coins_per_level: "0", daily_coin_cap: "0" },
      { game_id: "com.cli.game", coins_enabled: false, coins_per_level: "2", daily_coin_cap: "0" },
    ]);
  });

  it("exits 1 for an unknown game and 2 for a bad command line or bad values", async () => {
    const missing = await run("get", "com.cli.missing");
    assert.equal(missing.code, 1);
    assert.match(missing.err.join("\n"), /not registered/);
    for (const args of [["upsert"], ["upsert", "com.cli.x", "--coins-per-level", "-3"], ["upsert", "com.cli.x", "--bogus"], ["frobnicate"], ["get"]]) {
      const r = await run(...args);
      assert.equal(r.code, 2, `games ${args.join(" ")}`);
      assert.equal(r.out.length, 0);
    }
    const badId = await run("upsert", "no-dots");
    assert.equal(badId.code, 2);
    assert.match(badId.err.join("\n"), /game\.game_id: must be a reverse-DNS bundle id/);
    const help = await run("--help");
    assert.equal(help.code, 0);
    assert.match(help.out.join("\n"), /playsmart games upsert <game_id>/);
  });
});
