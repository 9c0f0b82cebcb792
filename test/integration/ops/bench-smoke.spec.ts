import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const root = fileURLToPath(new URL("../../../", import.meta.url));

describe("npm run bench -- --quick (smoke run, so the benchmark cannot rot)", function () {
  this.timeout(180_000);

  it("runs every scenario for a moment and reports rows without errors", async () => {
    const out = mkdtempSync(join(tmpdir(), "playsmart-bench-"));
    try {
      await promisify(execFile)(process.execPath, ["--import", "tsx", "bench/run.ts", "--quick", "--out", out], {
        cwd: root,
        maxBuffer: 16 * 1024 * 1024,
      });
      const files = readdirSync(out).filter((f) => f.endsWith(".json"));
      assert.equal(files.length, 1);
      const report = JSON.parse(readFileSync(join(out, files[0]!), "utf8")) as { ok: boolean; table: string };
      assert.equal(report.ok, true);
      for (const scenario of ["rest-200", "rest-200-paired", "grpc-200", "grpc-200-paired", "connect-json-200", "drain-1w", "drain-2w-paired", "baseline-ingest", "baseline-drain", "overload"]) {
        assert.match(report.table, new RegExp(`^${scenario}\\s`, "m"), `${scenario} in the table`);
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it("starts a MariaDB of its own from deploy/mariadb/playsmart.cnf with the sizes given, and removes it afterwards", async () => {
    const out = mkdtempSync(join(tmpdir(), "playsmart-bench-"));
    const ownDirs = () => readdirSync(tmpdir()).filter((f) => f.startsWith("playsmart-bench-mysql-")).sort();
    const before = ownDirs();
    try {
      const args = ["--quick", "--scenarios", "drain-1w", "--own-mysql", "on", "--mysql-buffer-pool", "256M", "--mysql-redo-log", "64M", "--out", out];
      await promisify(execFile)(process.execPath, ["--import", "tsx", "bench/run.ts", ...args], { cwd: root, maxBuffer: 16 * 1024 * 1024 });
      const file = readdirSync(out).find((f) => f.endsWith(".json"))!;
      const report = JSON.parse(readFileSync(join(out, file), "utf8")) as {
        ok: boolean;
        table: string;
        environment: { ownMysql?: { config: string }; mysql: Record<string, string> };
      };
      assert.equal(report.ok, true);
      assert.match(report.table, /^drain-1w\s/m);
      assert.equal(report.environment.ownMysql?.config, "deploy/mariadb/playsmart.cnf");
      // Sizes at start, the rest from the file.
      assert.equal(report.environment.mysql.innodb_buffer_pool_size, String(256 * 2 ** 20));
      assert.equal(report.environment.mysql.innodb_log_file_size, String(64 * 2 ** 20));
      assert.equal(report.environment.mysql.innodb_flush_log_at_trx_commit, "1");
      assert.deepEqual(ownDirs(), before, "its data directory is removed");
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
