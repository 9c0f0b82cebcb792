/**
 * Compares two results files of `npm run bench` without running anything: each
 * figure's change, CPU-per-event regressions over 15% flagged (exit 1), and the
 * targets of the newer run.
 *
 *   node --import tsx bench/tools/compare-results.ts bench/results/OLD.json bench/results/NEW.json
 */
import { readFileSync } from "node:fs";
import { compareRows, formatComparison, type ResultsFile } from "../compare.js";
import { formatTargets, judgeTargets } from "../targets.js";

const [oldFile, newFile] = process.argv.slice(2);
if (!oldFile || !newFile) {
  process.stderr.write("usage: compare-results.ts OLD.json NEW.json\n");
  process.exit(2);
}
const read = (f: string) => JSON.parse(readFileSync(f, "utf8")) as ResultsFile;
const before = read(oldFile);
const after = read(newFile);
const changes = compareRows(before.rows, after.rows);
process.stdout.write(formatComparison(changes, `${oldFile}${before.startedAt ? ` (${before.startedAt})` : ""}`) + "\n");
const targets = judgeTargets(new Map(after.rows.map((r) => [r.scenario, r]))).filter((t) => t.met !== undefined);
if (targets.length > 0) process.stdout.write("\n" + formatTargets(targets) + "\n");
process.exit(changes.some((c) => c.regression) ? 1 : 0);
