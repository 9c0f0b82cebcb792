import { SpanKind, type Link, type Span } from "@opentelemetry/api";
import { linkTo, spanAttr, tracer } from "../tracing/tracer.js";
import type { Good } from "./read-preparer.js";

/**
 * Starts the span of one drain transaction: MySQL commit and acknowledgement
 * of `goods`. It is a root span with a link to the append span of every batch
 * that carried a sampled trace context (one transaction commits the batches of
 * many requests, so no single one is its parent); each link says which batch.
 */
export function startCommitSpan(goods: readonly Good[], entries: number): Span {
  const links: Link[] = [];
  const shards = new Set<number>();
  for (const g of goods) {
    shards.add(g.held.shard);
    const parent = g.expanded.batch.traceParent;
    if (parent === undefined) continue;
    const link = linkTo(parent, {
      [spanAttr.batchId]: g.expanded.batch.batchId,
      [spanAttr.eventCount]: g.expanded.events.length,
      [spanAttr.shard]: g.held.shard,
      "messaging.message.id": g.held.id,
    });
    if (link) links.push(link);
  }
  return tracer().startSpan("drain commit", {
    kind: SpanKind.CONSUMER,
    links,
    attributes: {
      "db.system.name": "mysql",
      "messaging.system": "redis",
      "messaging.operation.type": "process",
      [spanAttr.entryCount]: entries,
      [spanAttr.batchCount]: goods.length,
      [spanAttr.shard]: [...shards].sort((a, b) => a - b),
    },
  });
}
