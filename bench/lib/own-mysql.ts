import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createConnection } from "mysql2/promise";
import { freePort, repoRoot } from "./child-process.js";

/** Options of {@link startOwnMysql}. */
export interface OwnMysqlOptions {
  /** `innodb_buffer_pool_size` at start, bytes; undefined = the settings file's. */
  bufferPoolBytes?: number | undefined;
  /** `innodb_log_file_size` at start, bytes; undefined = the settings file's. */
  redoLogBytes?: number | undefined;
  /** Where its error log goes. */
  logDir: string;
  /** @default deploy/mariadb/playsmart.cnf */
  configFile?: string;
  /** More `--name=value` arguments, after the settings file's (they win). */
  extraArgs?: readonly string[];
}

/** A MariaDB server the bench started for itself. */
export interface OwnMysql {
  /** Server URL without a database (root, no password, loopback only). */
  url: string;
  pid: number;
  dataDir: string;
  /** Seconds from install to the first answer. */
  startSeconds: number;
  /** Shuts it down and deletes its data directory. */
  stop(): Promise<void>;
}

/**
 * Installs a fresh data directory in the temporary folder and starts
 * `mariadbd` on it with the deployment's settings file and the given sizes,
 * on a free loopback port. Why a server of its own: the buffer pool must be
 * sized when the server starts (a pool grown with SET GLOBAL keeps the page
 * hash of its start size: deploy/mariadb/playsmart.cnf), and the machine's
 * shared server belongs to the tests and other runs.
 */
export async function startOwnMysql(options: OwnMysqlOptions): Promise<OwnMysql> {
  const started = performance.now();
  const dataDir = mkdtempSync(join(tmpdir(), "playsmart-bench-mysql-"));
  const asRoot = process.getuid?.() === 0 ? ["--user=root"] : [];
  const install = spawnSync(
    "mariadb-install-db",
    ["--no-defaults", ...asRoot, `--datadir=${dataDir}`, "--auth-root-authentication-method=normal", "--skip-test-db"],
    { encoding: "utf8" },
  );
  if (install.status !== 0) {
    rmSync(dataDir, { recursive: true, force: true });
    throw new Error(`mariadb-install-db failed (${install.error?.message ?? `exit ${install.status}`}): ${(install.stderr ?? "").slice(-500)}`);
  }
  const port = await freePort();
  const logFile = join(options.logDir, "mariadbd.log");
  const fd = openSync(logFile, "a");
  const proc: ChildProcess = spawn(
    mariadbdPath(),
    [
      `--defaults-file=${options.configFile ?? join(repoRoot, "deploy/mariadb/playsmart.cnf")}`,
      ...asRoot,
      `--datadir=${dataDir}`,
      `--port=${port}`,
      "--bind-address=127.0.0.1",
      `--socket=${join(dataDir, "mysqld.sock")}`,
      `--pid-file=${join(dataDir, "mysqld.pid")}`,
      ...(options.bufferPoolBytes === undefined ? [] : [`--innodb-buffer-pool-size=${options.bufferPoolBytes}`]),
      ...(options.redoLogBytes === undefined ? [] : [`--innodb-log-file-size=${options.redoLogBytes}`]),
      ...(options.extraArgs ?? []),
    ],
    { stdio: ["ignore", fd, fd] },
  );
  closeSync(fd);
  let exit: string | undefined;
  proc.once("exit", (code, signal) => (exit = signal ?? `exit ${code}`));
  const url = `mysql://root@127.0.0.1:${port}`;
  const stop = async () => {
    if (exit === undefined) {
      const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
      proc.kill("SIGTERM"); // mariadbd shuts down cleanly on SIGTERM
      const timer = setTimeout(() => proc.kill("SIGKILL"), 60_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  for (const deadline = Date.now() + 60_000; ; ) {
    if (exit !== undefined) {
      await stop();
      throw new Error(`mariadbd ${exit} at start: ${readFileSync(logFile, "utf8").slice(-800)}`);
    }
    try {
      const conn = await createConnection({ uri: url });
      await conn.end();
      break;
    } catch {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`mariadbd did not answer on ${url} within 60 s (log: ${logFile})`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return { url, pid: proc.pid!, dataDir, startSeconds: (performance.now() - started) / 1000, stop };
}

function mariadbdPath(): string {
  for (const p of ["/usr/sbin/mariadbd", "/usr/local/sbin/mariadbd", "/usr/bin/mariadbd"]) {
    if (spawnSync(p, ["--version"], { stdio: "ignore" }).status === 0) return p;
  }
  return spawnSync("sh", ["-c", "command -v mariadbd"], { encoding: "utf8" }).stdout.trim();
}
