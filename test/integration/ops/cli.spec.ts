import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const bin = fileURLToPath(new URL("../../../bin/playsmart.js", import.meta.url));
const run = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [bin, ...args], { env: { ...process.env, ...env }, encoding: "utf8", timeout: 20_000 });

describe("playsmart command line", () => {
  it("--help lists the roles and commands and exits 0", () => {
    const r = run(["--help"]);
    assert.equal(r.status, 0);
    for (const word of ["serve", "--role all|gateway|worker", "migrate", "games upsert", "games list", "REDIS_URL", "MYSQL_URL"]) {
      assert.ok(r.stdout.includes(word), `--help mentions ${word}`);
    }
  });

  for (const [name, value, expected] of [
    ["PORT", "eighty", 'PORT="eighty" is not a whole number (allowed 0..65535)'],
    ["PORT", "70000", "PORT=70000 is out of range (allowed 0..65535)"],
    ["LOG_LEVEL", "loud", 'LOG_LEVEL="loud" is not one of fatal, error, warn, info, debug, trace, silent'],
    ["REDIS_URL", "localhost:6379", "REDIS_URL must start with redis:// or rediss:// or redis+cluster:// or rediss+cluster://"],
    ["MYSQL_URL", "not a url", "MYSQL_URL is not a URL (expected e.g. mysql://root@127.0.0.1:3306/playsmart)"],
    ["GRPC_REFLECTION", "maybe", 'GRPC_REFLECTION="maybe" is not a boolean (use true or false)'],
    ["ADMIN_TOKEN", "short", "ADMIN_TOKEN must be at least 16 characters"],
  ] as const) {
    it(`fails fast with one line for ${name}=${value}`, () => {
      const r = run(["serve"], { [name]: value });
      assert.equal(r.status, 2);
      assert.equal(r.stderr, `playsmart: ${expected}\n`);
    });
  }

  it("names the dependency to start when Redis does not answer", () => {
    const r = run(["serve"], { REDIS_URL: "redis://127.0.0.1:1" });
    assert.equal(r.status, 2);
    assert.equal(r.stderr, "playsmart: Redis does not answer at redis://127.0.0.1:1: start it (redis-server) or set REDIS_URL\n");
  });

  it("refuses an unknown command and a bad role", () => {
    assert.equal(run(["fly"]).status, 2);
    const r = run(["serve", "--role", "chef"]);
    assert.equal(r.status, 2);
    assert.equal(r.stderr, "playsmart: serve takes only --role all|gateway|worker\n");
  });
});
