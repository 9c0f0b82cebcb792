/**
 * CPU of the tracing code a traced gateway runs per ingest request (request
 * span, append span, its traceparent, both ends), in-process, at a sampling
 * ratio; sampled spans go to the SDK's in-memory exporter, so the OTLP
 * serialization of the sampled share is not counted. A floor for what
 * `rest-200-traced` measures end to end:
 *
 *   node --import tsx bench/tools/tracing-span-cost.ts 0.01
 */
import { SpanKind } from "@opentelemetry/api";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace-node";
import { endRequestSpan, startRequestSpan } from "../../src/server/request-span.js";
import type { RequestInfo } from "../../src/server/request-info.js";
import { startTracing } from "../../src/tracing/start-tracing.js";
import { sampledTraceParent, spanAttr, tracer } from "../../src/tracing/tracer.js";

const ratio = Number(process.argv[2] ?? "0.01");
const exporter = new InMemorySpanExporter();
const tracing = startTracing({
  config: { enabled: true, serviceName: "span-cost", sampler: "parentbased_traceidratio", samplerRatio: ratio },
  role: "gateway",
  exporter,
});
const headers = { "content-type": "application/json", authorization: "Bearer x", host: "127.0.0.1" };
const key = "psbench:events:{0}";

function oneRequest(): void {
  const info: RequestInfo = { id: "01935f6e-8a2b-7c3d-9e4f-0123456789ab", route: "/ingest/events", protocol: "rest", clientIp: "127.0.0.1" };
  const request = startRequestSpan("POST", headers, info);
  const append = tracer().startSpan(
    `send ${key}`,
    {
      kind: SpanKind.PRODUCER,
      attributes: { "messaging.system": "redis", "messaging.operation.type": "send", "messaging.destination.name": key, [spanAttr.shard]: 0, [spanAttr.batchId]: info.id, [spanAttr.eventCount]: 200 },
    },
    request.context,
  );
  sampledTraceParent(append);
  append.setAttribute("messaging.message.id", "1-0");
  append.end();
  endRequestSpan(request.span, info, 202);
}

for (let i = 0; i < 50_000; i++) oneRequest();
const n = 200_000;
const start = process.cpuUsage();
for (let i = 0; i < n; i++) {
  oneRequest();
  if (i % 10_000 === 0) exporter.reset();
}
const used = process.cpuUsage(start);
const us = (used.user + used.system) / n;
console.log(`sampling ${ratio}: ${us.toFixed(2)} µs CPU per request, ${(us / 200).toFixed(4)} µs per event of a 200-event batch`);
void tracing.shutdown();
