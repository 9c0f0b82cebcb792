import assert from "node:assert/strict";
import { compareRows, formatComparison } from "../../bench/compare.js";
import { cpuPerEvent } from "../../bench/cpu-per-event.js";
import { newRow, type Row } from "../../bench/row.js";
import { lineChartSvg } from "../../bench/lib/svg-chart.js";
import { judgeTargets } from "../../bench/targets.js";
import { parseOptions } from "../../bench/options.js";
import { totalmem } from "node:os";

function row(scenario: string, eventsPerSec: number, cpu: { svc?: number; lg?: number; redis?: number; db?: number }, more: Partial<Row> = {}): Row {
  return {
    ...newRow(scenario),
    eventsPerSec,
    service: cpu.svc === undefined ? undefined : { cpuPct: cpu.svc, peakRssMb: 100, hwmMb: 100 },
    loadCpuPct: cpu.lg,
    redisCpuPct: cpu.redis,
    dbCpuPct: cpu.db,
    ...more,
  };
}

describe("bench figures: CPU per event, targets, --compare", () => {
  it("turns CPU shares into µs per event for every process", () => {
    // 100% of a core is 1e6 µs a second: 50% over 100,000 events/s is 5 µs an event.
    assert.deepEqual(cpuPerEvent(row("r", 100_000, { svc: 50, lg: 10, redis: 20, db: 0 })), { svc: 5, lg: 1, redis: 2, db: 0 });
    assert.deepEqual(cpuPerEvent(row("d", 40_000, { svc: 40, db: 60 })), { svc: 10, lg: undefined, redis: undefined, db: 15 });
    assert.deepEqual(cpuPerEvent(row("none", 0, { svc: 40 })).svc, undefined);
  });

  it("judges the speed targets on CPU per event", () => {
    const rows = new Map(
      [
        row("baseline-ingest", 400_000, { svc: 100 }), // 2.5 µs
        row("rest-200", 300_000, { svc: 100 }), // 3.33 µs: 1.33x
        row("grpc-200", 280_000, { svc: 100 }), // 3.57 µs: more than REST
        row("drain-1w", 40_000, { svc: 40, db: 60 }), // 25 µs
        row("drain-2w", 60_000, { svc: 80, db: 85 }), // 27.5 µs: 1.10x
      ].map((r) => [r.scenario, r]),
    );
    const results = judgeTargets(rows);
    const byTarget = (text: string) => results.find((r) => r.target.includes(text))!;
    assert.equal(byTarget("REST 200-event").met, true);
    assert.match(byTarget("REST 200-event").figure, /^1\.33x \(rest-200 3\.33 \/ baseline-ingest 2\.50 µs\/ev\)$/);
    assert.equal(byTarget("gRPC at most REST").met, false);
    assert.equal(byTarget("two workers").met, true);
    assert.match(byTarget("two workers").figure, /^1\.10x \(drain-2w \/ drain-1w: 27\.50 \/ 25\.00 µs\/ev\)$/);
    assert.equal(byTarget("latency").met, undefined);
  });

  it("prefers drain-2w-paired's alternating drains for the two-worker target", () => {
    const drain = (workers: number, eventsPerSec: number, svc: number, db: number) => ({
      workers,
      eventsPerSec,
      details: { usage: { svc: { cpuPct: svc }, db: { cpuPct: db } } },
    });
    const paired = row("drain-2w-paired", 60_000, {}, {
      details: { drains: [drain(1, 40_000, 40, 60), drain(2, 60_000, 100, 100), drain(2, 60_000, 100, 100), drain(1, 40_000, 40, 60)] },
    });
    const result = judgeTargets(new Map([[paired.scenario, paired]])).find((r) => r.target.includes("two workers"))!;
    // 2 x 200% over 120,000 events = 33.3 µs against 2 x 100% over 80,000 = 25 µs.
    assert.equal(result.met, false);
    assert.match(result.figure, /^1\.33x \(drain-2w-paired: 33\.33 \/ 25\.00 µs\/ev\)$/);
  });

  it("prefers the paired rows' alternating slices for the gateway targets", () => {
    // 4 slices of 5 s each side: 10M events in 20 s = 500,000 events/s.
    const slices = (events: number) => Array.from({ length: 4 }, () => ({ okEvents: events / 4, elapsedMs: 5000 }));
    const paired = (name: string, subjectEvents: number, subjectCpu: number, referenceEvents: number, referenceCpu: number) =>
      row(name, subjectEvents / 20, {}, {
        details: { subject: slices(subjectEvents), reference: slices(referenceEvents), usage: { svc: { cpuPct: subjectCpu } }, referenceUsage: { svc: { cpuPct: referenceCpu } } },
      });
    const rows = new Map(
      [
        // The unpaired rows, minutes apart, say the opposite of the slices.
        row("baseline-ingest", 400_000, { svc: 100 }),
        row("rest-200", 100_000, { svc: 100 }),
        row("grpc-200", 600_000, { svc: 100 }),
        paired("rest-200-paired", 10_000_000, 100, 12_000_000, 90), // 2.00 against 1.50 µs: 1.33x
        paired("grpc-200-paired", 8_000_000, 100, 10_000_000, 100), // 2.50 against 2.00 µs: 1.25x
      ].map((r) => [r.scenario, r]),
    );
    const results = judgeTargets(rows);
    const byTarget = (text: string) => results.find((r) => r.target.includes(text))!;
    assert.equal(byTarget("REST 200-event").met, true);
    assert.equal(byTarget("REST 200-event").figure, "1.33x (rest-200-paired: rest-200 2.00 / baseline-ingest 1.50 µs/ev)");
    assert.equal(byTarget("gRPC at most REST").met, false);
    assert.equal(byTarget("gRPC at most REST").figure, "1.25x (grpc-200-paired: grpc-200 2.50 / rest-200 2.00 µs/ev)");
  });

  it("counts a held soak only when it offered at least 70% of the drain measured after it", () => {
    const soak = (offered: number, after: number) =>
      row("sustained", offered, {}, { details: { soak: { lagBounded: true }, lagMetricSeconds: { p99: 0.8 }, offeredEventsPerSec: offered, calibrationAfter: { rate: after } } });
    const judge = (r: Row) => judgeTargets(new Map([[r.scenario, r]])).find((t) => t.target.includes("soak"))!;
    assert.equal(judge(soak(16_000, 20_000)).met, true);
    assert.equal(judge(soak(16_000, 20_000)).figure, "lag p99 0.80 s (sustained, offered 80% of the drain measured after it)");
    const low = judge(soak(12_676, 21_305));
    assert.equal(low.met, undefined);
    assert.equal(low.figure, "lag p99 0.80 s (sustained, offered 59% of the drain measured after it): below 70%, not a test of 80%");
  });

  it("flags a CPU-per-event figure more than 15% worse, and never events/s alone", () => {
    const before = [row("rest-200", 300_000, { svc: 90, lg: 30, redis: 20 }), row("gone", 1, { svc: 1 })];
    const after = [row("rest-200", 150_000, { svc: 50, lg: 18, redis: 12 }), row("new", 1, { svc: 1 })];
    const changes = compareRows(before, after);
    assert.deepEqual(
      changes.map((c) => [c.figure, Number(c.change.toFixed(3)), c.regression]),
      [
        ["events/s", -0.5, false],
        ["svc", 0.111, false],
        ["lg", 0.2, true],
        ["redis", 0.2, true],
      ],
    );
    const text = formatComparison(changes, "old.json");
    assert.match(text, /rest-200 +300,000 -> 150,000 \(-50%\) +3\.00 -> 3\.33 \(\+11%\) +1\.00 -> 1\.20 \(\+20%\) WORSE/);
    assert.match(text, /2 CPU-per-event figure\(s\) more than 15% worse: rest-200 lg, rest-200 redis$/);
    assert.match(formatComparison(compareRows(before, before), "same.json"), /no CPU-per-event figure more than 15% worse$/);
  });

  it("judges the flat drain on drain-curve's ends, only once it reaches 20M rows", () => {
    const curve = (rows: number[], rates: number[]) =>
      new Map([["drain-curve", row("drain-curve", rates.at(-1)!, {}, { details: { curve: rows.map((r, i) => ({ rows: r, eventsPerSec: rates[i] })) } })]]);
    const flat = (m: Map<string, Row>) => judgeTargets(m).find((t) => t.target.includes("past 20M rows"))!;
    assert.equal(flat(curve([0, 10e6, 20e6], [50_000, 40_000, 36_000])).met, true);
    assert.match(flat(curve([0, 10e6, 20e6], [50_000, 40_000, 36_000])).figure, /^0\.72x \(drain-curve: 36,000 ev\/s up to 20\.0M rows against 50,000 from empty tables; the first drain/);
    assert.equal(flat(curve([0, 10e6, 20e6], [50_000, 30_000, 34_000])).met, false);
    assert.equal(flat(curve([0, 12_000, 24_000], [50_000, 50_000, 50_000])).met, undefined);
    // Six drains or more: medians of the first and last three, so one slow drain does not decide.
    const six = flat(curve([0, 4e6, 8e6, 12e6, 16e6, 20e6], [36_000, 42_000, 43_000, 28_000, 20_000, 30_000]));
    assert.match(six.figure, /^0\.67x \(drain-curve: 28,000 ev\/s up to 20\.0M rows against 42,000/);
    assert.equal(six.met, false);
  });

  it("draws the curve as an SVG line chart with its reference line", () => {
    const svg = lineChartSvg({
      title: "t <&>",
      xLabel: "rows",
      yLabel: "events/s",
      points: [{ x: 0, y: 50_000 }, { x: 10, y: 40_000 }, { x: 20, y: 36_000 }],
      reference: { y: 35_000, label: "0.7x" },
    });
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.equal((svg.match(/<circle /g) ?? []).length, 3);
    assert.match(svg, /<polyline fill="none"[^>]* points="[\d.]+,[\d.]+ [\d.]+,[\d.]+ [\d.]+,[\d.]+"\/>/);
    assert.match(svg, /stroke-dasharray="6 4"/);
    assert.match(svg, /t &lt;&amp;&gt;/);
    assert.match(svg, /<\/svg>\n$/);
  });

  it("starts a MariaDB of its own for full runs only, sized at start; a given server is left as it is", () => {
    const saved = process.env.BENCH_MYSQL_URL;
    delete process.env.BENCH_MYSQL_URL;
    try {
      const full = parseOptions([]);
      assert.equal(full.ownMysql, true);
      assert.equal(full.mysqlBufferPool, Math.min(12 * 2 ** 30, Math.floor(totalmem() / 2 / 2 ** 27) * 2 ** 27));
      assert.equal(full.mysqlRedoLog, 4 * 2 ** 30);
      for (const argv of [["--quick"], ["--mysql-url", "mysql://root@db:3306"], ["--own-mysql", "off"]]) {
        const o = parseOptions(argv);
        assert.equal(o.ownMysql, false, argv.join(" "));
        assert.equal(o.mysqlBufferPool, undefined, argv.join(" "));
        assert.equal(o.mysqlRedoLog, undefined, argv.join(" "));
      }
      const sized = parseOptions(["--quick", "--own-mysql", "on", "--mysql-buffer-pool", "256M", "--mysql-redo-log", "off"]);
      assert.deepEqual([sized.ownMysql, sized.mysqlBufferPool, sized.mysqlRedoLog], [true, 256 * 2 ** 20, undefined]);
      assert.throws(() => parseOptions(["--own-mysql", "yes"]), /--own-mysql takes on or off/);
      assert.deepEqual(parseOptions(["--mysql-option", "innodb_io_capacity=1000", "--mysql-option", "innodb-flush-neighbors=0"]).mysqlOptions, [
        "--innodb-io-capacity=1000",
        "--innodb-flush-neighbors=0",
      ]);
      assert.throws(() => parseOptions(["--quick", "--mysql-option", "innodb_io_capacity=1000"]), /needs the bench's own server/);
      assert.throws(() => parseOptions(["--mysql-option", "--skip-grant-tables"]), /takes name=value/);
    } finally {
      if (saved !== undefined) process.env.BENCH_MYSQL_URL = saved;
    }
  });
});
