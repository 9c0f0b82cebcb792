import { readdir, readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { createConnection } from "mysql2/promise";
import { ensureDatabase } from "./mysql-pool.js";

const migrationsDir = fileURLToPath(new URL("./migrations/", import.meta.url));

/** Result of {@link migrate}: the versions applied by this call. */
export interface MigrateResult {
  applied: string[];
}

/**
 * Creates the database when missing and applies the pending SQL files of
 * `migrations/` in name order, each recorded in `schema_migrations`.
 * A small runner rather than a library: the files are plain SQL, run once, in
 * order, under a MySQL named lock so several processes starting together apply
 * each file exactly once.
 */
export async function migrate(url: string): Promise<MigrateResult> {
  await ensureDatabase(url);
  const conn = await createConnection({ uri: url, multipleStatements: true, connectTimeout: 5000 });
  const applied: string[] = [];
  try {
    const [lockRows] = await conn.query("SELECT GET_LOCK('playsmart_migrate', 60) AS ok");
    if ((lockRows as Array<{ ok: number }>)[0]?.ok !== 1) throw new Error("could not take the migration lock within 60 s");
    try {
      await conn.query(
        `CREATE TABLE IF NOT EXISTS schema_migrations (
           version VARCHAR(128) NOT NULL PRIMARY KEY,
           applied_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
         )`,
      );
      const [rows] = await conn.query("SELECT version FROM schema_migrations");
      const done = new Set((rows as Array<{ version: string }>).map((r) => r.version));
      const files = (await readdir(migrationsDir)).filter((f) => f.endsWith(".sql")).sort();
      for (const file of files) {
        const version = file.replace(/\.sql$/, "");
        if (done.has(version)) continue;
        const sql = await readFile(migrationsDir + file, "utf8");
        // DDL commits implicitly in MySQL, so a file is not atomic; each file is
        // written with IF NOT EXISTS so a half-applied one can be run again.
        await conn.query(sql);
        await conn.query("INSERT INTO schema_migrations (version) VALUES (?)", [version]);
        applied.push(version);
      }
    } finally {
      await conn.query("SELECT RELEASE_LOCK('playsmart_migrate')");
    }
  } finally {
    await conn.end();
  }
  return { applied };
}
