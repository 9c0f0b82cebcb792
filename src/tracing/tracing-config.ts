/**
 * Tracing settings, from the standard OpenTelemetry variables. `config.ts` calls
 * this; the OTLP exporter itself reads the rest of `OTEL_EXPORTER_OTLP_*`
 * (headers, timeout, compression, protocol details), so those keep exactly the
 * meaning the OpenTelemetry specification gives them.
 */

/** Samplers of `OTEL_TRACES_SAMPLER` (the specification's names). */
export const samplerNames = [
  "always_on",
  "always_off",
  "traceidratio",
  "parentbased_always_on",
  "parentbased_always_off",
  "parentbased_traceidratio",
] as const;
export type SamplerName = (typeof samplerNames)[number];

/** How spans are sampled and where they go. */
export interface TracingConfig {
  /**
   * True when `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`
   * is set and `OTEL_SDK_DISABLED` is not `true`. Off, no span is made at all.
   * @default false
   */
  enabled: boolean;
  /** `service.name` of every span (`OTEL_SERVICE_NAME`). @default "playsmart-gateway" */
  serviceName: string;
  /** `OTEL_TRACES_SAMPLER`. @default "parentbased_always_on" */
  sampler: SamplerName;
  /** `OTEL_TRACES_SAMPLER_ARG`, the ratio of the `traceidratio` samplers, 0-1. @default 1 */
  samplerRatio: number;
}

type Env = Record<string, string | undefined>;

/**
 * Reads the tracing variables.
 * @throws Error (one line naming the variable) on an unknown sampler or a bad ratio.
 */
export function readTracingConfig(env: Env): TracingConfig {
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT || "";
  const disabled = (env.OTEL_SDK_DISABLED ?? "").trim().toLowerCase() === "true";
  const sampler = (env.OTEL_TRACES_SAMPLER || "parentbased_always_on").trim().toLowerCase() as SamplerName;
  if (!samplerNames.includes(sampler)) {
    throw new Error(`OTEL_TRACES_SAMPLER=${JSON.stringify(env.OTEL_TRACES_SAMPLER)} is not one of ${samplerNames.join(", ")}`);
  }
  const ratioText = env.OTEL_TRACES_SAMPLER_ARG;
  const samplerRatio = ratioText === undefined || ratioText === "" ? 1 : Number(ratioText);
  if (!Number.isFinite(samplerRatio) || samplerRatio < 0 || samplerRatio > 1) {
    throw new Error(`OTEL_TRACES_SAMPLER_ARG=${JSON.stringify(ratioText)} must be a number from 0 to 1`);
  }
  return {
    enabled: endpoint !== "" && !disabled,
    serviceName: env.OTEL_SERVICE_NAME || "playsmart-gateway",
    sampler,
    samplerRatio,
  };
}
