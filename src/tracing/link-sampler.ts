import { TraceFlags, type Attributes, type Context, type Link, type SpanKind } from "@opentelemetry/api";
import { SamplingDecision, type Sampler, type SamplingResult } from "@opentelemetry/sdk-trace-node";

/**
 * Samples a span that links to a sampled span, and asks `base` about the rest.
 *
 * Why: a drain transaction is a root span (it commits many batches of many
 * requests, so it has no one parent) that links to the append of each batch.
 * With `parentbased_traceidratio` at 1% it would be sampled at 1% on its own,
 * and a sampled request would almost never find the commit of its batch. With
 * this sampler every sampled request's batch gets its commit span, and the
 * ratio still bounds the number of traces.
 */
export function createLinkSampler(base: Sampler): Sampler {
  return {
    shouldSample(context: Context, traceId: string, name: string, kind: SpanKind, attributes: Attributes, links: Link[]): SamplingResult {
      for (const link of links) {
        if ((link.context.traceFlags & TraceFlags.SAMPLED) !== 0) return { decision: SamplingDecision.RECORD_AND_SAMPLED };
      }
      return base.shouldSample(context, traceId, name, kind, attributes, links);
    },
    toString: () => `LinkSampler{${base.toString()}}`,
  };
}
