/**
 * The load generator's own process (forked by `load-generator.ts`): it runs one
 * job at a time sent over IPC and answers with its result. A separate process so
 * the client never shares the service's event loop; on this 2-core machine it
 * still competes with the service, Redis and MariaDB for the cores.
 */
import type { LoadJob } from "./job.js";
import { runLoad } from "./load-run.js";

process.on("message", (msg: { type: "run"; job: LoadJob }) => {
  if (msg.type !== "run") return;
  // "window" tells the parent when to start its CPU and memory readings of the server.
  runLoad(msg.job, () => process.send?.({ type: "window" })).then(
    (result) => process.send?.({ type: "result", result }),
    (err: unknown) => process.send?.({ type: "error", error: err instanceof Error ? err.stack ?? err.message : String(err) }),
  );
});
process.on("disconnect", () => process.exit(0));
process.send?.({ type: "ready" });
