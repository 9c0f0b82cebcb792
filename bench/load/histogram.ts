/**
 * A latency histogram with about 1% relative precision from 1 µs to ~1000 s.
 * Fixed memory however many samples, and mergeable, so per-second windows and
 * whole runs use the same type (and it crosses the IPC channel as sparse pairs).
 */

const growth = 1.01;
const logGrowth = Math.log(growth);
// 1 µs .. 1e9 µs (1000 s): ceil(ln(1e9) / ln(1.01)) buckets.
const bucketCount = Math.ceil(Math.log(1e9) / logGrowth) + 1;

/** Latency percentiles in milliseconds. */
export interface LatencySummary {
  count: number;
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

/** The sparse form of a histogram: [bucket, count] pairs plus exact extremes. */
export interface HistogramJson {
  buckets: Array<[number, number]>;
  count: number;
  sumUs: number;
  maxUs: number;
}

/** Log-bucketed histogram of microsecond values. */
export class LatencyHistogram {
  private readonly counts = new Float64Array(bucketCount);
  count = 0;
  sumUs = 0;
  maxUs = 0;

  /** Adds one sample, in microseconds. */
  record(us: number): void {
    const v = us < 1 ? 1 : us;
    let i = Math.floor(Math.log(v) / logGrowth);
    if (i >= bucketCount) i = bucketCount - 1;
    this.counts[i]! += 1;
    this.count++;
    this.sumUs += v;
    if (v > this.maxUs) this.maxUs = v;
  }

  /** The value at quantile `q` (0..1) in µs: the upper edge of its bucket, capped at the maximum seen. */
  quantileUs(q: number): number {
    if (this.count === 0) return 0;
    const target = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < bucketCount; i++) {
      seen += this.counts[i]!;
      if (seen >= target) return Math.min(growth ** (i + 1), this.maxUs);
    }
    return this.maxUs;
  }

  /** Adds every sample of `other`. */
  merge(other: LatencyHistogram): void {
    for (let i = 0; i < bucketCount; i++) this.counts[i]! += other.counts[i]!;
    this.count += other.count;
    this.sumUs += other.sumUs;
    if (other.maxUs > this.maxUs) this.maxUs = other.maxUs;
  }

  /** Percentiles in ms, rounded to 0.01 ms. */
  summary(): LatencySummary {
    const ms = (us: number) => Math.round(us / 10) / 100;
    return {
      count: this.count,
      meanMs: ms(this.count === 0 ? 0 : this.sumUs / this.count),
      p50Ms: ms(this.quantileUs(0.5)),
      p90Ms: ms(this.quantileUs(0.9)),
      p99Ms: ms(this.quantileUs(0.99)),
      p999Ms: ms(this.quantileUs(0.999)),
      maxMs: ms(this.maxUs),
    };
  }

  /** Sparse, JSON-safe form (for IPC). */
  toJSON(): HistogramJson {
    const buckets: Array<[number, number]> = [];
    for (let i = 0; i < bucketCount; i++) if (this.counts[i]! > 0) buckets.push([i, this.counts[i]!]);
    return { buckets, count: this.count, sumUs: this.sumUs, maxUs: this.maxUs };
  }

  /** Rebuilds a histogram from {@link toJSON}'s output. */
  static fromJSON(json: HistogramJson): LatencyHistogram {
    const h = new LatencyHistogram();
    for (const [i, n] of json.buckets) h.counts[i] = n;
    h.count = json.count;
    h.sumUs = json.sumUs;
    h.maxUs = json.maxUs;
    return h;
  }
}
