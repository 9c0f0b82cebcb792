import { randomBytes } from "node:crypto";

/**
 * Names of this test run's own MySQL database and Redis key prefix, so runs never
 * see each other's data on the shared servers. Root hooks in `root-hooks.ts`
 * create nothing (the code under test migrates on start) and remove both at the end.
 */
const runId = `${process.pid}_${randomBytes(3).toString("hex")}`;

/** Base URL of the MariaDB server the tests use (no database part). */
export const mysqlServerUrl = process.env.TEST_MYSQL_SERVER_URL ?? "mysql://root@127.0.0.1:3306";
/** URL of the Redis server the tests use. */
export const redisUrl = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

/** This run's database URL (`playsmart_test_<pid>_<hex>`), optionally suffixed. */
export function testMysqlUrl(suffix = ""): string {
  return `${mysqlServerUrl}/playsmart_test_${runId}${suffix ? "_" + suffix : ""}`;
}

/** This run's Redis key prefix, optionally suffixed. */
export function testStreamPrefix(suffix = ""): string {
  return `pstest:${runId}${suffix ? ":" + suffix : ""}`;
}

/** Every database and key prefix handed out, for the cleanup hook. */
export const runPrefix = { mysql: `playsmart_test_${runId}`, redis: `pstest:${runId}` };
