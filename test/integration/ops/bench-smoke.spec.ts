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
});
