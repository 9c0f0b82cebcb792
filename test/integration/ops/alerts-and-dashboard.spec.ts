import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { RowDataPacket } from "mysql2/promise";
import { parse } from "yaml";
import { parsePrometheusText, type Sample } from "../../helpers/prometheus-text.js";
import { registerPlayer, startTestApp, type TestApp } from "../../helpers/start-app.js";

const deploy = (path: string) => fileURLToPath(new URL(`../../../deploy/${path}`, import.meta.url));
const alertsFile = deploy("prometheus/alerts.yml");
const alertTestsFile = deploy("prometheus/alerts.test.yml");
const dashboardFile = deploy("grafana/playsmart.json");

interface Rule {
  alert: string;
  expr: string;
}
interface AlertTest {
  input_series: Array<{ series: string }>;
  alert_rule_test: Array<{ alertname: string; exp_alerts: unknown[] }>;
}
interface Panel {
  title: string;
  targets: Array<{ expr: string }>;
}

const rules = (parse(readFileSync(alertsFile, "utf8")) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap((g) => g.rules);
const alertTests = (parse(readFileSync(alertTestsFile, "utf8")) as { tests: AlertTest[] }).tests;
const dashboard = JSON.parse(readFileSync(dashboardFile, "utf8")) as { panels: Panel[] };

// Every metric a query names (ours all start with playsmart_), as written: a
// histogram's `_bucket`, `_sum` and `_count` are the names a scrape shows.
const metricNames = (expr: string) => [...expr.matchAll(/\bplaysmart_[a-z0-9_]+\b/g)].map((m) => m[0]);

function promtool(args: string[], cwd?: string): { status: number | null; output: string } {
  const r = spawnSync("promtool", args, { encoding: "utf8", cwd });
  if (r.error) assert.fail(`promtool did not run (${r.error.message}): install Debian's prometheus package; .ci/run does`);
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

describe("alerts and dashboard as code", function () {
  this.timeout(30_000);

  it("promtool check rules: the rules parse", () => {
    const r = promtool(["check", "rules", alertsFile]);
    assert.equal(r.status, 0, r.output);
    assert.match(r.output, new RegExp(`SUCCESS: ${rules.length} rules found`));
  });

  it("promtool test rules: every alert fires on its unit test's series and stays quiet on a healthy one", () => {
    const r = promtool(["test", "rules", "alerts.test.yml"], deploy("prometheus"));
    assert.equal(r.status, 0, r.output);
    for (const { alert } of rules) {
      const cases = alertTests.flatMap((t) => t.alert_rule_test).filter((c) => c.alertname === alert);
      assert.ok(cases.some((c) => c.exp_alerts.length > 0), `${alert} has no test in which it fires`);
      assert.ok(cases.some((c) => c.exp_alerts.length === 0), `${alert} has no test in which it stays quiet`);
    }
  });

  describe("every query names a metric the service really exports", () => {
    let app: TestApp;
    let scraped: Set<string>;
    let samples: Sample[];

    before(async () => {
      // A gateway and a worker in one process: every metric family is exported.
      app = await startTestApp({ name: "alerts_dashboard", role: "all" });
      const player = await registerPlayer(app.url);
      const post = (body: unknown) =>
        fetch(`${app.url}/ingest/events`, {
          method: "POST",
          headers: { authorization: `Bearer ${player.accessToken}`, "content-type": "application/json" },
          body: JSON.stringify(body),
        });
      const batch = { user_id: player.userId, game_id: "com.example.alerts", events: [{ type: "LevelCompleted", timestamp: "2026-11-26T09:15:00Z" }] };
      assert.equal((await post(batch)).status, 202);
      assert.equal((await post({ ...batch, events: [] })).status, 400);
      // Histograms of the drain appear once a transaction committed.
      const deadline = Date.now() + 10_000;
      for (;;) {
        const [rows] = await app.pool.query<RowDataPacket[]>("SELECT COUNT(*) AS n FROM events WHERE user_id = ?", [player.userId]);
        if (Number(rows[0]!.n) === 1) break;
        if (Date.now() > deadline) assert.fail("the event was not stored");
        await new Promise((r) => setTimeout(r, 25));
      }
      // The lag histogram is observed after the commit: give it a moment, then scrape.
      await new Promise((r) => setTimeout(r, 200));
      samples = parsePrometheusText(await (await fetch(`${app.url}/metrics`)).text());
      scraped = new Set(samples.map((s) => s.name));
    });
    after(() => app.close());

    it("the alert rules", () => {
      for (const rule of rules) {
        const names = metricNames(rule.expr);
        assert.ok(names.length > 0, `${rule.alert} names no metric`);
        for (const name of names) assert.ok(scraped.has(name), `${rule.alert}: ${name} is not exported`);
      }
    });

    it("the alert unit tests' input series", () => {
      for (const test of alertTests) {
        for (const { series } of test.input_series) {
          const name = series.slice(0, series.indexOf("{") >= 0 ? series.indexOf("{") : undefined);
          assert.ok(scraped.has(name), `alerts.test.yml feeds ${name}, which is not exported`);
        }
      }
    });

    it("the dashboard's panels", () => {
      assert.ok(dashboard.panels.length >= 10);
      for (const panel of dashboard.panels) {
        assert.ok(panel.targets.length > 0, `panel ${panel.title} has no query`);
        for (const { expr } of panel.targets) {
          const names = metricNames(expr);
          assert.ok(names.length > 0, `panel ${panel.title}: ${expr} names no metric`);
          for (const name of names) assert.ok(scraped.has(name), `panel ${panel.title}: ${name} is not exported`);
        }
      }
    });

    it("and each metric the alerts need is there with the label they group by", () => {
      const leased = samples.filter((s) => s.name === "playsmart_shard_leased");
      assert.deepEqual(leased.map((s) => [s.labels.shard, s.value]), [["0", 1]], "the worker holds shard 0's lease");
      assert.ok(samples.some((s) => s.name === "playsmart_ingest_batches_total" && s.labels.outcome === "invalid" && s.value === 1));
      assert.ok(samples.some((s) => s.name === "playsmart_ingest_to_commit_lag_seconds_count" && s.value === 1));
    });
  });
});
