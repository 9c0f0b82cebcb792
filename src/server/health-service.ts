import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import {
  HealthCheckResponse_ServingStatus as Status,
  type Health,
} from "../../gen/health/v1/health_pb.js";
import type { Readiness } from "../health/readiness.js";

/**
 * `grpc.health.v1.Health`, wire-compatible with the standard protocol: the
 * overall status is under "" and each served service under its full name; all
 * share the process's readiness (the gateway's services need only Redis).
 */
export function createHealthService(readiness: Readiness, serviceNames: readonly string[]): ServiceImpl<typeof Health> {
  const known = new Set(["", ...serviceNames]);
  const statusNow = () => (readiness.isReady() ? Status.SERVING : Status.NOT_SERVING);

  return {
    check(req) {
      if (!known.has(req.service)) throw new ConnectError(`unknown service ${req.service}`, Code.NotFound);
      return { status: statusNow() };
    },
    list() {
      const statuses: Record<string, { status: Status }> = {};
      for (const name of known) statuses[name] = { status: statusNow() };
      return { statuses };
    },
    async *watch(req, ctx) {
      if (!known.has(req.service)) {
        // The protocol answers an unknown service with SERVICE_UNKNOWN and keeps
        // the stream open, since the service may be registered later.
        yield { status: Status.SERVICE_UNKNOWN };
        await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve, { once: true }));
        return;
      }
      const queue: Status[] = [statusNow()];
      let wake: (() => void) | undefined;
      const unsubscribe = readiness.onChange(() => {
        queue.push(statusNow());
        wake?.();
      });
      const onAbort = () => wake?.();
      ctx.signal.addEventListener("abort", onAbort);
      try {
        let last: Status | undefined;
        while (!ctx.signal.aborted) {
          const next = queue.shift();
          if (next === undefined) {
            await new Promise<void>((resolve) => (wake = resolve));
            wake = undefined;
            continue;
          }
          if (next !== last) yield { status: next };
          last = next;
        }
      } finally {
        unsubscribe();
        ctx.signal.removeEventListener("abort", onAbort);
      }
    },
  };
}
