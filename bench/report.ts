// The one shape of a benchmark figure, how it is judged against its target, and the table `npm run bench` prints.
import { appendFileSync } from 'node:fs';

/** How a measured quantity must compare with its target to pass. */
export type Comparator = '<=' | '<' | '>=' | '>' | '==';

/** One measured figure of a benchmark. */
export interface Figure {
  /** What was measured, with the conditions that matter (`status patches/s at concurrency 16`). */
  readonly name: string;
  readonly value: number;
  /** The unit of `value`, `target` (unless `judge` is `ratio`) and `baseline`: `s`, `ms`, `MiB`, `/s`, `ns`, `writes`. */
  readonly unit: string;
  /** The target; a figure without one is shown for context and judged `INFO`. */
  readonly target?: number;
  readonly comparator?: Comparator;
  /** Whether the target applies to `value` (default) or to `ratio` (value ÷ baseline). */
  readonly judge?: 'value' | 'ratio';
  /** The same quantity for a reference measured in the same run (a bare client, a trivial server, an ideal). */
  readonly baseline?: number;
  /** What the baseline is. */
  readonly baselineLabel?: string;
  /** Anything a reader needs to interpret the figure (conditions, caveats, the other runs). */
  readonly note?: string;
  /** Why the figure could not be measured in this run (no Redis, ...); its value is then meaningless. */
  readonly skipped?: string;
}

/** PASS and MISS judge a target; INFO has none; SKIP could not be measured; ERROR: the benchmark itself failed. */
export type Verdict = 'PASS' | 'MISS' | 'INFO' | 'SKIP' | 'ERROR';

/** A figure with its ratio and verdict worked out. */
export interface JudgedFigure extends Figure {
  /** value ÷ baseline, when there is a baseline. */
  readonly ratio?: number;
  readonly verdict: Verdict;
}

/** What one benchmark process reports. */
export interface BenchmarkReport {
  readonly benchmark: string;
  readonly figures: readonly Figure[];
}

/** Whether `value` meets `target` under `comparator`. */
export function meets(value: number, comparator: Comparator, target: number): boolean {
  if (!Number.isFinite(value)) return false;
  switch (comparator) {
    case '<=':
      return value <= target;
    case '<':
      return value < target;
    case '>=':
      return value >= target;
    case '>':
      return value > target;
    case '==':
      return value === target;
  }
}

/**
 * Adds the ratio to the baseline and the verdict.
 *
 * Guarantees: a figure with a target but no comparator, or judged on a ratio it has no baseline for, is a MISS
 * (a figure that cannot be judged never passes); a value that is not a finite number never passes.
 */
export function judge(figure: Figure): JudgedFigure {
  if (figure.skipped !== undefined) return { ...figure, verdict: 'SKIP' };
  const ratio = figure.baseline === undefined || figure.baseline === 0 ? undefined : figure.value / figure.baseline;
  if (figure.target === undefined) return { ...figure, ...(ratio === undefined ? {} : { ratio }), verdict: 'INFO' };
  const judged = figure.judge === 'ratio' ? ratio : figure.value;
  const passed = figure.comparator !== undefined && judged !== undefined && meets(judged, figure.comparator, figure.target);
  return { ...figure, ...(ratio === undefined ? {} : { ratio }), verdict: passed ? 'PASS' : 'MISS' };
}

/** A number as the table shows it: thousands separators, fewer decimals as it grows. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const magnitude = Math.abs(value);
  const digits = magnitude === 0 || Number.isInteger(value) ? 0 : magnitude >= 100 ? 0 : magnitude >= 10 ? 1 : magnitude >= 0.01 ? 2 : 4;
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function withUnit(value: number, unit: string): string {
  const text = formatNumber(value);
  return unit === '' ? text : unit.startsWith('/') ? `${text}${unit}` : `${text} ${unit}`;
}

function targetText(figure: JudgedFigure): string {
  if (figure.target === undefined) return '-';
  const comparator = figure.comparator ?? '?';
  return figure.judge === 'ratio' ? `ratio ${comparator} ${formatNumber(figure.target)}` : `${comparator} ${withUnit(figure.target, figure.unit)}`;
}

/** A row of the table: one figure of one benchmark. */
export interface TableRow {
  readonly benchmark: string;
  readonly figure: JudgedFigure;
}

/**
 * The table of figures: benchmark, figure, value, target, baseline, ratio, verdict; notes numbered below it.
 * Columns are padded to their widest cell so the table reads in a terminal and pastes into Markdown as text.
 */
export function formatTable(rows: readonly TableRow[]): string {
  const notes: string[] = [];
  const cells = rows.map(({ benchmark, figure }) => {
    let name = figure.name;
    const note = [figure.skipped === undefined ? '' : `${figure.verdict === 'ERROR' ? 'failed' : 'skipped'}: ${figure.skipped}.`, figure.baselineLabel === undefined ? '' : `baseline: ${figure.baselineLabel}.`, figure.note ?? ''].filter((part) => part !== '').join(' ');
    if (note !== '') {
      notes.push(note);
      name = `${name} [${notes.length}]`;
    }
    if (figure.skipped !== undefined) return [benchmark, name, '-', targetText(figure), '-', '-', figure.verdict];
    return [benchmark, name, withUnit(figure.value, figure.unit), targetText(figure), figure.baseline === undefined ? '-' : withUnit(figure.baseline, figure.unit), figure.ratio === undefined ? '-' : formatNumber(figure.ratio), figure.verdict];
  });
  const header = ['benchmark', 'figure', 'value', 'target', 'baseline (same run)', 'ratio', 'verdict'];
  const widths = header.map((title, column) => Math.max(title.length, ...cells.map((row) => (row[column] ?? '').length)));
  // Numbers align right, words left.
  const right = new Set([2, 4, 5]);
  const line = (row: readonly string[]): string =>
    row
      .map((cell, column) => (right.has(column) ? cell.padStart(widths[column] ?? 0) : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
      .trimEnd();
  const table = [line(header), line(widths.map((width) => '-'.repeat(width))), ...cells.map(line)];
  return [...table, ...(notes.length === 0 ? [] : ['', ...notes.map((note, index) => `[${index + 1}] ${note}`)])].join('\n');
}

/** Counts of each verdict. */
export function tally(figures: readonly JudgedFigure[]): Record<Verdict, number> {
  const counts: Record<Verdict, number> = { PASS: 0, MISS: 0, INFO: 0, SKIP: 0, ERROR: 0 };
  for (const figure of figures) counts[figure.verdict] += 1;
  return counts;
}

/** Whether the benchmark runs with reduced sizes (`npm run bench -- --quick`). */
export const quick = process.env['BENCH_QUICK'] === '1';

/** The full-run size, or the quick one under `--quick`. */
export function size(full: number, reduced: number): number {
  return quick ? reduced : full;
}

/**
 * Publishes a benchmark's figures: prints their table, and when run by `bench/run.ts` appends them to the file
 * it named (one JSON line per call), so the figures survive even if the process fails afterwards.
 */
export function publish(benchmark: string, figures: readonly Figure[]): void {
  const report: BenchmarkReport = { benchmark, figures };
  const file = process.env['BENCH_FIGURES_FILE'];
  if (file !== undefined && file !== '') appendFileSync(file, `${JSON.stringify(report)}\n`);
  console.log(formatTable(figures.map((figure) => ({ benchmark, figure: judge(figure) }))));
}
