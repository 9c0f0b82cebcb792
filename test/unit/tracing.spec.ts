import assert from "node:assert/strict";
import { ROOT_CONTEXT, SpanKind, TraceFlags, type Link } from "@opentelemetry/api";
import { AlwaysOffSampler, AlwaysOnSampler, SamplingDecision } from "@opentelemetry/sdk-trace-node";
import { loadConfig, ConfigError } from "../../src/config.js";
import { decodeEntry, encodeEntry, type StreamBatch } from "../../src/stream/stream-entry.js";
import { createLinkSampler } from "../../src/tracing/link-sampler.js";
import { readTracingConfig } from "../../src/tracing/tracing-config.js";

const link = (sampled: boolean): Link => ({
  context: { traceId: "0af7651916cd43dd8448eb211c80319c", spanId: "b7ad6b7169203331", traceFlags: sampled ? TraceFlags.SAMPLED : TraceFlags.NONE },
});

describe("tracing configuration (OTEL_* variables)", () => {
  it("is off unless an OTLP endpoint is set, and OTEL_SDK_DISABLED=true turns it off again", () => {
    assert.equal(readTracingConfig({}).enabled, false);
    assert.equal(loadConfig({}).tracing.enabled, false);
    assert.equal(readTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" }).enabled, true);
    assert.equal(readTracingConfig({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://collector:4318/v1/traces" }).enabled, true);
    assert.equal(readTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_SDK_DISABLED: "true" }).enabled, false);
    assert.equal(readTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_SDK_DISABLED: "false" }).enabled, true);
  });

  it("defaults to parentbased_always_on, ratio 1, service playsmart-gateway; reads the sampler and its ratio", () => {
    assert.deepEqual(readTracingConfig({}), { enabled: false, serviceName: "playsmart-gateway", sampler: "parentbased_always_on", samplerRatio: 1 });
    const c = readTracingConfig({ OTEL_TRACES_SAMPLER: "parentbased_traceidratio", OTEL_TRACES_SAMPLER_ARG: "0.01", OTEL_SERVICE_NAME: "ingest-eu" });
    assert.deepEqual(c, { enabled: false, serviceName: "ingest-eu", sampler: "parentbased_traceidratio", samplerRatio: 0.01 });
  });

  it("refuses an unknown sampler and a ratio outside 0-1, naming the variable", () => {
    assert.throws(() => loadConfig({ OTEL_TRACES_SAMPLER: "sometimes" }), (e: Error) => e instanceof ConfigError && /^OTEL_TRACES_SAMPLER="sometimes" is not one of always_on, /.test(e.message));
    for (const bad of ["1.5", "-0.1", "half"]) {
      assert.throws(() => loadConfig({ OTEL_TRACES_SAMPLER_ARG: bad }), (e: Error) => e instanceof ConfigError && e.message === `OTEL_TRACES_SAMPLER_ARG="${bad}" must be a number from 0 to 1`);
    }
  });
});

describe("link sampler", () => {
  const sample = (base: AlwaysOnSampler | AlwaysOffSampler, links: Link[]) =>
    createLinkSampler(base).shouldSample(ROOT_CONTEXT, "0af7651916cd43dd8448eb211c80319c", "drain commit", SpanKind.CONSUMER, {}, links).decision;

  it("samples a span linked to a sampled span even when the base sampler would not", () => {
    assert.equal(sample(new AlwaysOffSampler(), [link(false), link(true)]), SamplingDecision.RECORD_AND_SAMPLED);
  });
  it("asks the base sampler when no link is sampled", () => {
    assert.equal(sample(new AlwaysOffSampler(), [link(false)]), SamplingDecision.NOT_RECORD);
    assert.equal(sample(new AlwaysOffSampler(), []), SamplingDecision.NOT_RECORD);
    assert.equal(sample(new AlwaysOnSampler(), []), SamplingDecision.RECORD_AND_SAMPLED);
  });
});

describe("stream entry trace context (field p)", () => {
  const batch: StreamBatch = {
    batchId: "01935f6e-8a2b-7c3d-9e4f-0123456789ab",
    userId: "u1",
    gameId: "g1",
    receivedAtMs: 1_764_000_000_000,
    format: "json",
    body: "{}",
  };
  const roundTrip = (b: StreamBatch) => decodeEntry(encodeEntry(b).map((f) => Buffer.from(f)));

  it("is written only when set, and read back as it was", () => {
    assert.equal(encodeEntry(batch).includes("p"), false);
    assert.equal(roundTrip(batch).traceParent, undefined);
    const traceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    assert.equal(roundTrip({ ...batch, traceParent }).traceParent, traceParent);
  });
  it("a malformed value does not make the entry poison (it only loses its link)", () => {
    assert.equal(roundTrip({ ...batch, traceParent: "garbage" }).traceParent, "garbage");
  });
});
