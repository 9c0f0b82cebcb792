import { runAutocannon } from "./autocannon-load.js";
import { runH2load } from "./h2load.js";
import type { LoadJob, LoadResult } from "./job.js";

/**
 * Runs one job with the field's load tool that fits it: autocannon when every
 * request must carry new events, h2load otherwise (cheaper per request, and
 * it speaks gRPC's HTTP/2).
 */
export function runLoad(job: LoadJob, onWindowStart?: () => void): Promise<LoadResult> {
  return job.freshEvents ? runAutocannon(job, onWindowStart) : runH2load(job, onWindowStart);
}
