// Metric families read at scrape time or bucketed in typed arrays, for hot paths that must not pay prom-client's label hashing.
import type { Metric, Registry } from 'prom-client';

type Labels = Readonly<Record<string, string>>;

export interface ScrapedSample {
  readonly labels: Labels;
  readonly value: number;
}

interface Exposition {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  values: { metricName?: string; labels: Labels; value: number }[];
  aggregator: 'sum';
}

/** Registers `metric` unless the registry already has one of that name, which it then returns. */
function registerOnce<T extends { readonly name: string }>(registry: Registry, metric: T): T {
  const existing = registry.getSingleMetric(metric.name) as unknown;
  if (existing !== undefined) return existing as T;
  registry.registerMetric(metric as unknown as Metric);
  return metric;
}

/**
 * A counter or gauge whose samples are computed when Prometheus scrapes, from sources registered by the
 * components that own the numbers (queue depth, counts kept as plain integers).
 */
export class ScrapedMetric {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge';
  readonly aggregator = 'sum' as const;
  readonly #sources = new Set<() => readonly ScrapedSample[]>();

  /** The family `name` on `registry`, created on first use. */
  static on(registry: Registry, name: string, help: string, type: 'counter' | 'gauge'): ScrapedMetric {
    return registerOnce(registry, new ScrapedMetric(name, help, type));
  }

  private constructor(name: string, help: string, type: 'counter' | 'gauge') {
    this.name = name;
    this.help = help;
    this.type = type;
  }

  /** Adds a source of samples; returns a function that removes it. */
  source(read: () => readonly ScrapedSample[]): () => void {
    this.#sources.add(read);
    return () => this.#sources.delete(read);
  }

  get(): Promise<Exposition> {
    const values = [...this.#sources].flatMap((read) => read().map((sample) => ({ labels: sample.labels, value: sample.value })));
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator });
  }

  reset(): void {}
}

/** One label set of a {@link FastHistogram}. */
export class HistogramChild {
  readonly labels: Labels;
  readonly #bounds: Float64Array;
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(labels: Labels, bounds: Float64Array) {
    this.labels = labels;
    this.#bounds = bounds;
    this.counts = new Float64Array(bounds.length);
  }

  observe(value: number): void {
    const bounds = this.#bounds;
    let low = 0;
    let high = bounds.length;
    // First bucket whose upper bound is ≥ value; values above every bound count only in +Inf.
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((bounds[mid] as number) < value) low = mid + 1;
      else high = mid;
    }
    if (low < bounds.length) this.counts[low] = (this.counts[low] as number) + 1;
    this.sum += value;
    this.count += 1;
  }
}

/** A histogram whose observations cost a binary search and two additions; exposed like prom-client's. */
export class FastHistogram {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram' as const;
  readonly aggregator = 'sum' as const;
  readonly #bounds: Float64Array;
  readonly #children = new Map<string, HistogramChild>();

  /** The family `name` on `registry`, created on first use with these buckets. */
  static on(registry: Registry, name: string, help: string, buckets: readonly number[]): FastHistogram {
    return registerOnce(registry, new FastHistogram(name, help, buckets));
  }

  private constructor(name: string, help: string, buckets: readonly number[]) {
    this.name = name;
    this.help = help;
    this.#bounds = Float64Array.from([...buckets].sort((a, b) => a - b));
  }

  /** The child of one label set, created at zero (so it is exposed before its first observation). */
  child(labels: Labels): HistogramChild {
    const key = JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    let child = this.#children.get(key);
    if (child === undefined) {
      child = new HistogramChild(labels, this.#bounds);
      this.#children.set(key, child);
    }
    return child;
  }

  get(): Promise<Exposition> {
    const values: Exposition['values'] = [];
    for (const child of this.#children.values()) {
      let cumulative = 0;
      this.#bounds.forEach((bound, index) => {
        cumulative += child.counts[index] as number;
        values.push({ metricName: `${this.name}_bucket`, labels: { ...child.labels, le: String(bound) }, value: cumulative });
      });
      values.push({ metricName: `${this.name}_bucket`, labels: { ...child.labels, le: '+Inf' }, value: child.count });
      values.push({ metricName: `${this.name}_sum`, labels: child.labels, value: child.sum });
      values.push({ metricName: `${this.name}_count`, labels: child.labels, value: child.count });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator });
  }

  reset(): void {}
}

/** Buckets of `count` values starting at `start`, each `factor` times the previous (Prometheus's ExponentialBuckets). */
export function exponentialBuckets(start: number, factor: number, count: number): number[] {
  // Rounded to 12 significant digits so 1e-8 × 10 is exposed as 1e-7, not 1.0000000000000001e-7.
  return Array.from({ length: count }, (_, index) => Number((start * factor ** index).toPrecision(12)));
}
