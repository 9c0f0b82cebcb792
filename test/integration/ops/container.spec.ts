/**
 * The container image and the compose file, as far as a machine without a
 * container engine can test them: the Dockerfile's rules, its final stage's
 * files run exactly as the image would run them (production dependencies only,
 * its CMD, its HEALTHCHECK, SIGTERM), and the compose file against Compose's
 * schema (`docker-compose config`) with the Prometheus config it mounts.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { freePort } from "../../helpers/free-port.js";
import { testMysqlUrl, testStreamPrefix } from "../../helpers/test-env.js";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const dockerfile = readFileSync(join(root, "Dockerfile"), "utf8");
// Instructions with their continuation lines joined.
const instructions = dockerfile
  .replace(/\\\n/g, " ")
  .split("\n")
  .map((l) => l.trim())
  .filter((l) => l !== "" && !l.startsWith("#"));
const stages: string[][] = [];
for (const line of instructions) {
  if (/^FROM /i.test(line)) stages.push([]);
  stages.at(-1)?.push(line);
}
const finalStage = stages.at(-1)!;
const execForm = (line: string, keyword: string) => JSON.parse(line.slice(line.indexOf(keyword) + keyword.length).trim()) as string[];

function run(cmd: string, args: string[], cwd: string): { status: number | null; output: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8" });
  if (r.error) assert.fail(`${cmd} did not run (${r.error.message}); .ci/run installs it`);
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

describe("container image and compose file", function () {
  this.timeout(60_000);

  describe("Dockerfile", () => {
    it("is multi-stage, installs production dependencies only, runs as a non-root user", () => {
      assert.ok(stages.length >= 2, "multi-stage");
      assert.ok(stages[0]!.some((l) => /^RUN npm ci --omit=dev\b/.test(l)), "npm ci --omit=dev in the build stage");
      assert.ok(finalStage.some((l) => /^COPY --from=deps \/app\/node_modules /.test(l)), "the final stage takes the installed modules");
      const user = finalStage.filter((l) => /^USER /.test(l)).at(-1);
      assert.ok(user !== undefined && !/^USER (root|0)\b/.test(user), `non-root user: ${user}`);
    });

    it("has a HEALTHCHECK on /healthz and an exec-form CMD, so SIGTERM reaches node", () => {
      const health = finalStage.find((l) => l.startsWith("HEALTHCHECK "));
      assert.ok(health?.includes("/healthz"));
      const cmd = finalStage.find((l) => l.startsWith("CMD "))!;
      assert.deepEqual(execForm(cmd, "CMD"), ["node", "bin/playsmart.js", "serve"]);
    });

    it("its final stage's files serve with production dependencies only: healthy, then exit 0 on SIGTERM", async () => {
      const dir = mkdtempSync(join(tmpdir(), "psimage-"));
      try {
        // The build stage: package files, then npm ci --omit=dev as the Dockerfile runs it.
        cpSync(join(root, "package.json"), join(dir, "package.json"));
        cpSync(join(root, "package-lock.json"), join(dir, "package-lock.json"));
        const install = run("npm", ["ci", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund", "--prefer-offline"], dir);
        assert.equal(install.status, 0, install.output);
        assert.ok(!existsSync(join(dir, "node_modules", "mocha")), "no dev dependency installed");
        // The final stage's own COPY lines (not --from), sources relative to the context.
        for (const line of finalStage.filter((l) => /^COPY (?!--from)/.test(l))) {
          const parts = line.split(/\s+/).slice(1);
          const target = parts.pop()!;
          for (const source of parts) cpSync(join(root, source), target.endsWith("/") || target === "./" ? join(dir, source) : join(dir, target), { recursive: true });
        }
        const port = await freePort();
        const env = {
          PATH: process.env.PATH ?? "",
          NODE_ENV: "production",
          PORT: String(port),
          HOST: "127.0.0.1",
          MYSQL_URL: testMysqlUrl("container"),
          STREAM_PREFIX: testStreamPrefix("container"),
          LOG_LEVEL: "warn",
        };
        const [command, ...args] = execForm(finalStage.find((l) => l.startsWith("CMD "))!, "CMD");
        const child = spawn(command!, args, { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] });
        let output = "";
        child.stdout.on("data", (d) => (output += d));
        child.stderr.on("data", (d) => (output += d));
        const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
        try {
          const deadline = Date.now() + 30_000;
          for (;;) {
            const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.status === 200, () => false);
            if (ok) break;
            if (child.exitCode !== null || Date.now() > deadline) assert.fail(`never healthy:\n${output}`);
            await new Promise((r) => setTimeout(r, 200));
          }
          // The HEALTHCHECK command itself, as the engine would run it in the container.
          const health = finalStage.find((l) => l.startsWith("HEALTHCHECK "))!;
          const [hcCommand, ...hcArgs] = execForm(health, "CMD");
          const check = spawnSync(hcCommand!, hcArgs, { cwd: dir, env, encoding: "utf8" });
          assert.equal(check.status, 0, `HEALTHCHECK: ${check.stderr}`);
          assert.equal((await fetch(`http://127.0.0.1:${port}/openapi.json`)).status, 200);
        } finally {
          child.kill("SIGTERM");
        }
        assert.equal(await exited, 0, `exit code after SIGTERM:\n${output}`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe("deploy/compose.yaml", () => {
    const compose = parse(readFileSync(join(root, "deploy/compose.yaml"), "utf8")) as { services: Record<string, Record<string, unknown>> };

    it("passes Compose's schema (docker-compose config), with the services the deployment needs", () => {
      const r = run("docker-compose", ["-f", "compose.yaml", "config", "-q"], join(root, "deploy"));
      assert.equal(r.status, 0, r.output);
      assert.deepEqual(Object.keys(compose.services).sort(), ["gateway", "grafana", "mariadb", "prometheus", "redis", "worker-1", "worker-2"]);
      const redis = (compose.services.redis!.command as string[]).join(" ");
      assert.match(redis, /--appendonly yes/);
      assert.match(redis, /--maxmemory-policy noeviction/);
      assert.deepEqual(compose.services["worker-1"]!.command, ["node", "bin/playsmart.js", "serve", "--role", "worker"]);
      assert.deepEqual(compose.services.gateway!.command, ["node", "bin/playsmart.js", "serve", "--role", "gateway"]);
    });

    it("mounts files that exist: Prometheus config (promtool check config) with the alerts, Grafana provisioning and the dashboard", () => {
      for (const service of ["prometheus", "grafana"]) {
        for (const volume of compose.services[service]!.volumes as string[]) {
          const source = volume.split(":")[0]!;
          assert.ok(existsSync(join(root, "deploy", source)), `${service} mounts ${source}, which does not exist`);
        }
      }
      const r = run("promtool", ["check", "config", "prometheus/prometheus.yml"], join(root, "deploy"));
      assert.equal(r.status, 0, r.output);
      assert.match(r.output, /SUCCESS: 8 rules found/);
    });

    it("gives MariaDB the drain's settings file, which this MariaDB accepts with the values the docs name", () => {
      const volumes = compose.services.mariadb!.volumes as string[];
      assert.ok(volumes.includes("./mariadb/playsmart.cnf:/etc/mysql/conf.d/playsmart.cnf:ro"), volumes.join(", "));
      assert.deepEqual(compose.services.mariadb!.command, ["--innodb-buffer-pool-size=${MARIADB_BUFFER_POOL:-2G}"]);
      // --help --verbose parses the file as the server would at start: an unknown
      // or misspelt option fails it.
      const r = run("mariadbd", ["--defaults-file=deploy/mariadb/playsmart.cnf", "--help", "--verbose"], root);
      assert.equal(r.status, 0, r.output);
      const value = (name: string) => new RegExp(`^${name}\\s+(\\S+)$`, "m").exec(r.output)?.[1];
      assert.equal(value("innodb-buffer-pool-size"), String(4 * 2 ** 30));
      assert.equal(value("innodb-log-file-size"), String(4 * 2 ** 30));
      assert.equal(value("innodb-flush-log-at-trx-commit"), "1");
      assert.equal(value("innodb-flush-method"), "O_DIRECT");
    });
  });
});
