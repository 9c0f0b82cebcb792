import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";

/** One redis-server of the test cluster. */
export interface ClusterNode {
  port: number;
  process: ChildProcess | undefined;
}

/**
 * A Redis Cluster of the test's own: 3 masters and 3 replicas on loopback ports,
 * made with the machine's redis-server (cluster mode) and `redis-cli --cluster
 * create`, removed again by {@link TestRedisCluster.stop}.
 */
export interface TestRedisCluster {
  nodes: ClusterNode[];
  /** `redis+cluster://127.0.0.1:<port of the first node>`. */
  url: string;
  /** Every node as `host:port`, for REDIS_CLUSTER_NODES. */
  seeds: string[];
  /** The port of the master that serves `key` now. */
  masterOf(key: string): Promise<number>;
  /** SIGKILLs the node on `port`. */
  kill(port: number): Promise<void>;
  /** Starts a killed node again; it rejoins the cluster (as a replica, once failed over). */
  restart(port: number): Promise<void>;
  /** Waits until every live node reports cluster_state:ok and the slots are covered by live masters. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

// Cluster bus ports are the client port + 10000, so both must be free.
async function pickPorts(n: number): Promise<number[]> {
  const ports: number[] = [];
  for (let tries = 0; ports.length < n && tries < 500; tries++) {
    const p = 20000 + Math.floor(Math.random() * 9000);
    if (ports.includes(p)) continue;
    if ((await portFree(p)) && (await portFree(p + 10000))) ports.push(p);
  }
  if (ports.length < n) throw new Error("no free ports for the test cluster");
  return ports;
}

async function ping(port: number): Promise<boolean> {
  const r = new Redis(port, "127.0.0.1", { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
  r.on("error", () => {});
  try {
    await r.connect();
    return (await r.ping()) === "PONG";
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

async function clusterInfo(port: number): Promise<string> {
  const r = new Redis(port, "127.0.0.1", { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
  r.on("error", () => {});
  try {
    await r.connect();
    return String(await r.cluster("INFO"));
  } catch {
    return "";
  } finally {
    r.disconnect();
  }
}

/** Starts six nodes and joins them into a cluster with one replica per master. */
export async function startRedisCluster(): Promise<TestRedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), "playsmart-cluster-"));
  const ports = await pickPorts(6);
  const launch = (port: number) =>
    spawn(
      "redis-server",
      [
        "--port", String(port), "--bind", "127.0.0.1",
        "--cluster-enabled", "yes",
        "--cluster-config-file", join(dir, `nodes-${port}.conf`),
        "--cluster-node-timeout", "1000",
        "--dir", dir, "--save", "", "--appendonly", "no",
        "--maxmemory-policy", "noeviction",
      ],
      { stdio: "ignore" },
    );
  const waitUp = async (port: number) => {
    const deadline = Date.now() + 10_000;
    while (!(await ping(port))) {
      if (Date.now() > deadline) throw new Error(`cluster node ${port} did not start`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const nodes: ClusterNode[] = ports.map((port) => ({ port, process: launch(port) }));
  for (const n of nodes) await waitUp(n.port);
  const create = spawnSync(
    "redis-cli",
    ["--cluster", "create", ...ports.map((p) => `127.0.0.1:${p}`), "--cluster-replicas", "1", "--cluster-yes"],
    { encoding: "utf8", timeout: 60_000 },
  );
  if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);

  const cluster: TestRedisCluster = {
    nodes,
    url: `redis+cluster://127.0.0.1:${ports[0]}`,
    seeds: ports.map((p) => `127.0.0.1:${p}`),
    async masterOf(key) {
      for (const n of nodes) {
        if (!n.process) continue;
        const r = new Redis(n.port, "127.0.0.1", { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
        r.on("error", () => {});
        try {
          await r.connect();
          const slot = Number(await r.cluster("KEYSLOT", key));
          const slots = (await r.cluster("SLOTS")) as unknown as Array<[number, number, [string, number, string]]>;
          const range = slots.find(([from, to]) => slot >= from && slot <= to);
          if (range) return Number(range[2][1]);
        } catch {
          // try the next node
        } finally {
          r.disconnect();
        }
      }
      throw new Error(`no node knows the master of ${key}`);
    },
    async kill(port) {
      const n = nodes.find((x) => x.port === port);
      const p = n?.process;
      if (!n || !p) return;
      n.process = undefined;
      await new Promise<void>((resolve) => {
        p.once("exit", () => resolve());
        p.kill("SIGKILL");
      });
    },
    async restart(port) {
      const n = nodes.find((x) => x.port === port);
      if (!n || n.process) return;
      n.process = launch(port);
      await waitUp(port);
    },
    async waitHealthy(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const live = nodes.filter((n) => n.process);
        const infos = await Promise.all(live.map((n) => clusterInfo(n.port)));
        if (infos.every((i) => i.includes("cluster_state:ok") && i.includes("cluster_slots_ok:16384"))) return;
        if (Date.now() > deadline) throw new Error(`cluster not healthy: ${infos.map((i) => i.split("\n")[0]).join(" | ")}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async stop() {
      for (const n of nodes) if (n.process) await cluster.kill(n.port);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await cluster.waitHealthy();
  return cluster;
}
