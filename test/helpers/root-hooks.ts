import { createConnection } from "mysql2/promise";
import { Redis } from "ioredis";
import { mysqlServerUrl, redisUrl, runPrefix } from "./test-env.js";

/**
 * Mocha root hooks: after the whole run, drop every database and delete every
 * Redis key this run created, and fail loudly on unhandled rejections.
 */
export const mochaHooks = {
  beforeAll(): void {
    process.on("unhandledRejection", (reason) => {
      console.error("unhandled rejection in tests:", reason);
      process.exitCode = 1;
    });
  },
  async afterAll(): Promise<void> {
    const conn = await createConnection({ uri: mysqlServerUrl });
    try {
      const [rows] = await conn.query("SHOW DATABASES LIKE ?", [`${runPrefix.mysql}%`]);
      for (const row of rows as Array<Record<string, string>>) {
        const name = Object.values(row)[0]!;
        await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
      }
    } finally {
      await conn.end();
    }
    const redis = new Redis(redisUrl);
    try {
      let cursor = "0";
      do {
        const [next, keys] = await redis.scan(cursor, "MATCH", `${runPrefix.redis}*`, "COUNT", 1000);
        cursor = next;
        if (keys.length > 0) await redis.del(...keys);
      } while (cursor !== "0");
    } finally {
      redis.disconnect();
    }
  },
};
