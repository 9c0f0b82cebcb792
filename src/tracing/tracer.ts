import { ROOT_CONTEXT, TraceFlags, propagation, trace, type Attributes, type Link, type Span, type Tracer } from "@opentelemetry/api";

/**
 * What instrumented code uses: the tracer, the switch, and the trace context a
 * stream entry carries. Only `@opentelemetry/api` is imported here, so the
 * domain folders can use it without knowing the SDK; `start-tracing.ts` plugs
 * the SDK in.
 */

let active = false;

/**
 * Whether spans are made. Every instrumented place checks it first, so with
 * tracing off (no OTLP endpoint) the request and drain paths do no tracing
 * work at all, not even a no-op span.
 */
export function tracingActive(): boolean {
  return active;
}

/** Set by `startTracing` and its shutdown. */
export function setTracingActive(on: boolean): void {
  active = on;
}

/**
 * The tracer of every span the service makes. Asked of the global provider at
 * each use, not kept: a tracer kept from before `startTracing` would still
 * point at a provider that a later shutdown (tests restart tracing) replaced.
 */
export function tracer(): Tracer {
  return trace.getTracer("playsmart-gateway");
}

/**
 * Names of the span attributes the service sets (beside standard ones such as
 * `http.request.method`). None holds a token, a password, an email or a
 * customdata value: ids, counts and names only.
 */
export const spanAttr = {
  batchId: "playsmart.batch_id",
  eventCount: "playsmart.event_count",
  shard: "playsmart.shard",
  entryCount: "playsmart.entry_count",
  batchCount: "playsmart.batch_count",
  outcome: "playsmart.outcome",
  requestId: "playsmart.request_id",
  protocol: "playsmart.protocol",
} as const;

/**
 * The W3C `traceparent` of a span, when it is sampled: what a stream entry
 * carries to the worker. Unsampled spans carry nothing (saves the bytes, and
 * a link to a span no backend holds is no use).
 */
export function sampledTraceParent(span: Span): string | undefined {
  const carrier: Record<string, string> = {};
  if ((span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) return undefined;
  propagation.inject(trace.setSpan(ROOT_CONTEXT, span), carrier);
  return carrier.traceparent;
}

/** A span link to the span a `traceparent` names, or undefined when it does not parse. */
export function linkTo(traceParent: string, attributes: Attributes): Link | undefined {
  const context = trace.getSpanContext(propagation.extract(ROOT_CONTEXT, { traceparent: traceParent }));
  if (context === undefined || !trace.isSpanContextValid(context)) return undefined;
  return { context, attributes };
}
