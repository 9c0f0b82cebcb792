import { context, propagation, trace } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { defaultResource, envDetector, detectResources, resourceFromAttributes } from "@opentelemetry/resources";
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  NodeTracerProvider,
  ParentBasedSampler,
  SimpleSpanProcessor,
  TraceIdRatioBasedSampler,
  type Sampler,
  type SpanExporter,
} from "@opentelemetry/sdk-trace-node";
import { createLinkSampler } from "./link-sampler.js";
import { setTracingActive } from "./tracer.js";
import type { TracingConfig } from "./tracing-config.js";

/** Options of {@link startTracing}. */
export interface TracingOptions {
  config: TracingConfig;
  /** `playsmart.role` of every span: all, gateway or worker. */
  role: string;
  /**
   * Where spans go instead of OTLP, each as it ends (tests pass the SDK's
   * `InMemorySpanExporter`). @default OTLP over HTTP, batched
   */
  exporter?: SpanExporter;
}

/** The installed SDK. */
export interface Tracing {
  /** Exports what is buffered, then uninstalls the SDK: spans stop being made. */
  shutdown(): Promise<void>;
}

/**
 * Installs the OpenTelemetry SDK for this process: W3C trace context, the sampler of `OTEL_TRACES_SAMPLER` wrapped
 * by {@link createLinkSampler}, and the OTLP/HTTP exporter, which reads
 * `OTEL_EXPORTER_OTLP_*` itself. Call it once, before `startApp`.
 */
export function startTracing(options: TracingOptions): Tracing {
  const { config } = options;
  const resource = defaultResource()
    .merge(detectResources({ detectors: [envDetector] }))
    .merge(resourceFromAttributes({ "service.name": config.serviceName, "playsmart.role": options.role }));
  const processor = options.exporter
    ? new SimpleSpanProcessor(options.exporter)
    : new BatchSpanProcessor(new OTLPTraceExporter());
  const provider = new NodeTracerProvider({
    resource,
    sampler: createLinkSampler(samplerOf(config)),
    spanProcessors: [processor],
  });
  // No context manager: Node 20's AsyncLocalStorage runs a hook for every
  // promise of the process, sampled or not (rest-200-traced read 1.08-1.30x with
  // it; see docs/performance.md#tracing for that row's own bias). The one parent
  // that crosses an await, request -> append, is handed down explicitly
  // (RequestInfo.traceContext -> AcceptOptions.trace), which costs nothing.
  provider.register({ contextManager: null });
  setTracingActive(true);
  return {
    async shutdown() {
      setTracingActive(false);
      await provider.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}

function samplerOf(config: TracingConfig): Sampler {
  const ratio = (): Sampler => new TraceIdRatioBasedSampler(config.samplerRatio);
  switch (config.sampler) {
    case "always_on": return new AlwaysOnSampler();
    case "always_off": return new AlwaysOffSampler();
    case "traceidratio": return ratio();
    case "parentbased_always_on": return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case "parentbased_always_off": return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case "parentbased_traceidratio": return new ParentBasedSampler({ root: ratio() });
  }
}
