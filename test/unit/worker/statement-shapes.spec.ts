import assert from "node:assert/strict";
import { createStatementShapes, type BindValue } from "../../../src/store/statement-shapes.js";

describe("statement shapes", () => {
  const shapes = createStatementShapes<number>({ head: "INSERT INTO t VALUES ", row: "(?,?)", tail: " X", sizes: [50, 5, 1], maxBytes: 100 });
  const split = (rows: number[], size = (_: number) => 1) =>
    [...shapes.split(rows, (r, out: BindValue[]) => out.push(r, -r), size)];

  it("cuts rows greedily into the allowed sizes, in order", () => {
    const out = split(Array.from({ length: 117 }, (_, i) => i));
    assert.deepEqual(out.map((s) => s.values.length / 2), [50, 50, 5, 5, 5, 1, 1]);
    assert.deepEqual(out.flatMap((s) => s.values.filter((_, i) => i % 2 === 0)), Array.from({ length: 117 }, (_, i) => i));
    assert.equal(out[5]!.sql, "INSERT INTO t VALUES (?,?) X");
    assert.equal(out[2]!.sql, `INSERT INTO t VALUES ${new Array(5).fill("(?,?)").join(",")} X`);
  });

  it("takes a smaller size when the larger would pass the byte budget", () => {
    const out = split(Array.from({ length: 60 }, (_, i) => i), (r) => (r === 3 ? 97 : 1));
    assert.deepEqual(out.map((s) => s.values.length / 2), [1, 1, 1, 1, 50, 5, 1]);
  });

  it("refuses sizes that cannot make every count or pass the placeholder limit", () => {
    assert.throws(() => createStatementShapes({ head: "", row: "(?)", sizes: [10, 2], maxBytes: 1 }), /end with 1/);
    assert.throws(() => createStatementShapes({ head: "", row: "(?,?)", sizes: [40_000, 1], maxBytes: 1 }), /placeholders/);
  });
});
