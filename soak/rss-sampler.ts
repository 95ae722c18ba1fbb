// Samples the resident memory of the soak's processes from /proc once a second.
import { readFileSync } from 'node:fs';

export interface RssSeries {
  readonly label: string;
  readonly pid: number;
  /** Samples taken, and the highest, first and last value in bytes. */
  samples: number;
  peakBytes: number;
  firstBytes: number;
  lastBytes: number;
  /** When the peak was seen, ms from the soak's start. */
  peakAtMs: number;
}

/** `VmRSS` of a process in bytes, or undefined once it is gone. */
export function residentBytes(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match === null ? undefined : Number(match[1]) * 1024;
  } catch {
    return undefined;
  }
}

/** Samples every tracked process every `intervalMs`; a process that exits keeps its series. */
export class RssSampler {
  readonly #series: RssSeries[] = [];
  readonly #timer: NodeJS.Timeout;
  readonly #now: () => number;

  constructor(now: () => number, intervalMs = 1_000) {
    this.#now = now;
    this.#timer = setInterval(() => this.sample(), intervalMs);
    this.#timer.unref();
  }

  /** Starts sampling a process under `label` (a label per process: `operator-a#2`). */
  track(label: string, pid: number): void {
    this.#series.push({ label, pid, samples: 0, peakBytes: 0, firstBytes: 0, lastBytes: 0, peakAtMs: 0 });
  }

  sample(): void {
    for (const series of this.#series) {
      const bytes = residentBytes(series.pid);
      if (bytes === undefined) continue;
      if (series.samples === 0) series.firstBytes = bytes;
      series.samples++;
      series.lastBytes = bytes;
      if (bytes > series.peakBytes) {
        series.peakBytes = bytes;
        series.peakAtMs = this.#now();
      }
    }
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  get series(): readonly RssSeries[] {
    return this.#series;
  }
}
