// Benchmark: add/get/done cycles per second through the work queue (with its metrics), against a bare FIFO + Set baseline.
import { Registry } from 'prom-client';
import { systemClock } from '../src/resilience/clock.ts';
import { RuntimeMetrics } from '../src/runtime/runtime-metrics.ts';
import { WorkQueue } from '../src/runtime/work-queue.ts';
import { publish, size } from './report.ts';

const CYCLES = size(2_000_000, 200_000);
const KEYS = 10_000;
const TARGET_PER_SECOND = 500_000;
const keys = Array.from({ length: KEYS }, (_, i) => `namespace-${i % 50}/object-${i}`);

/** The least a queue of this shape can do: a de-duplicating FIFO and a processing set, no metrics, no priorities. */
class BareQueue {
  readonly #fifo: string[] = [];
  #head = 0;
  readonly #dirty = new Set<string>();
  readonly #processing = new Set<string>();
  add(key: string): void {
    if (this.#dirty.has(key)) return;
    this.#dirty.add(key);
    if (!this.#processing.has(key)) this.#fifo.push(key);
  }
  get(): Promise<string | undefined> {
    const key = this.#fifo[this.#head++];
    if (key !== undefined) {
      this.#dirty.delete(key);
      this.#processing.add(key);
    }
    if (this.#head > 4096) {
      this.#fifo.splice(0, this.#head);
      this.#head = 0;
    }
    return Promise.resolve(key);
  }
  done(key: string): void {
    this.#processing.delete(key);
    if (this.#dirty.has(key)) this.#fifo.push(key);
  }
}

interface CycleQueue {
  add(key: string): void;
  get(): Promise<string | undefined>;
  done(key: string): void;
}

/** Keeps 64 keys pending; each cycle gets one, marks it done and adds another. */
async function cyclesPerSecond(queue: CycleQueue): Promise<number> {
  for (let i = 0; i < 64; i += 1) queue.add(keys[i] as string);
  const started = performance.now();
  for (let i = 0; i < CYCLES; i += 1) {
    const key = (await queue.get()) as string;
    queue.done(key);
    queue.add(keys[(i + 64) % KEYS] as string);
  }
  return CYCLES / ((performance.now() - started) / 1000);
}

const runs = 3;
const ours: number[] = [];
const bare: number[] = [];
for (let run = 0; run < runs; run += 1) {
  bare.push(await cyclesPerSecond(new BareQueue()));
  ours.push(await cyclesPerSecond(new WorkQueue({ name: 'bench', clock: systemClock, metrics: new RuntimeMetrics(new Registry()) })));
}
const best = (values: number[]): number => Math.max(...values);
const figure = best(ours);
const baseline = best(bare);
publish('runtime-work-queue', [
  {
    name: 'add/get/done cycles per second, in process',
    value: figure,
    unit: '/s',
    target: TARGET_PER_SECOND,
    comparator: '>=',
    baseline,
    baselineLabel: 'a bare de-duplicating FIFO and processing Set, no metrics or priorities',
    note: `WorkQueue with priorities, timers and metrics; best of ${runs} runs of ${CYCLES.toLocaleString('en-US')} cycles each, 64 keys pending`,
  },
]);
