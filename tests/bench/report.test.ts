// The benchmark report judges figures against their targets as stated, and prints them as one aligned table.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { formatNumber, formatTable, judge, publish, tally, type Figure } from '../../bench/report.ts';

const figure = (extra: Partial<Figure>): Figure => ({ name: 'f', value: 10, unit: 'ms', ...extra });

describe('judging a figure', () => {
  it('passes or misses a value target under each comparator, bounds included or not as stated', () => {
    expect(judge(figure({ value: 20, target: 20, comparator: '<=' })).verdict).toBe('PASS');
    expect(judge(figure({ value: 20, target: 20, comparator: '<' })).verdict).toBe('MISS');
    expect(judge(figure({ value: 20.1, target: 20, comparator: '<=' })).verdict).toBe('MISS');
    expect(judge(figure({ value: 5000, target: 5000, comparator: '>=' })).verdict).toBe('PASS');
    expect(judge(figure({ value: 5000, target: 5000, comparator: '>' })).verdict).toBe('MISS');
    expect(judge(figure({ value: 0, target: 0, comparator: '==' })).verdict).toBe('PASS');
    expect(judge(figure({ value: 1, target: 0, comparator: '==' })).verdict).toBe('MISS');
  });

  it('computes the ratio as value over baseline and judges it when the target is on the ratio', () => {
    const within = judge(figure({ value: 12, baseline: 10, target: 1.25, comparator: '<=', judge: 'ratio' }));
    expect(within.ratio).toBeCloseTo(1.2);
    expect(within.verdict).toBe('PASS');
    expect(judge(figure({ value: 13, baseline: 10, target: 1.25, comparator: '<=', judge: 'ratio' })).verdict).toBe('MISS');
    // The value alone would pass a target of 1.25 s... but the target is on the ratio.
    expect(judge(figure({ value: 1, baseline: 0.5, target: 1.25, comparator: '<=', judge: 'ratio' })).verdict).toBe('MISS');
  });

  it('never passes a figure it cannot judge: no comparator, no baseline for a ratio, or a value that is not a number', () => {
    expect(judge(figure({ target: 20 })).verdict).toBe('MISS');
    expect(judge(figure({ target: 2, comparator: '<=', judge: 'ratio' })).verdict).toBe('MISS');
    expect(judge(figure({ target: 2, comparator: '<=', judge: 'ratio', baseline: 0 })).verdict).toBe('MISS');
    expect(judge(figure({ value: Number.NaN, target: 20, comparator: '<=' })).verdict).toBe('MISS');
    expect(judge(figure({ value: Number.POSITIVE_INFINITY, target: 20, comparator: '>=' })).verdict).toBe('MISS');
  });

  it('marks a figure without target INFO and one that could not be measured SKIP, whatever its value', () => {
    expect(judge(figure({ baseline: 5 }))).toMatchObject({ verdict: 'INFO', ratio: 2 });
    expect(judge(figure({ value: 1, target: 20, comparator: '<=', skipped: 'Redis does not answer' })).verdict).toBe('SKIP');
  });

  it('counts the verdicts', () => {
    const judged = [figure({ target: 20, comparator: '<=' }), figure({ target: 5, comparator: '<=' }), figure({}), figure({ skipped: 'no Redis' })].map(judge);
    expect(tally(judged)).toEqual({ PASS: 1, MISS: 1, INFO: 1, SKIP: 1, ERROR: 0 });
  });
});

describe('the table', () => {
  const rows = [
    { benchmark: 'runtime-convergence', figure: judge(figure({ name: '10,000 Widgets converged', value: 12.3456, unit: 's', baseline: 10.5, target: 1.25, comparator: '<=', judge: 'ratio', note: 'median of 5 rounds' })) },
    { benchmark: 'devcluster-status-patches', figure: judge(figure({ name: 'status patches/s at concurrency 16', value: 6543.21, unit: '/s', target: 5000, comparator: '>=', baseline: 20000, baselineLabel: 'a trivial server' })) },
    { benchmark: 'resilience-idempotency', figure: judge(figure({ name: 'pairs/s, Redis', value: Number.NaN, unit: '/s', skipped: 'Redis does not answer' })) },
  ];
  const text = formatTable(rows);
  const lines = text.split('\n');

  it('has a header, a rule and one line per figure, every column starting at the same place', () => {
    const [header = '', rule = '', ...body] = lines;
    expect(header.split(/\s{2,}/)).toEqual(['benchmark', 'figure', 'value', 'target', 'baseline (same run)', 'ratio', 'verdict']);
    const starts = [...rule.matchAll(/-+/g)].map((match) => match.index);
    expect(starts).toHaveLength(7);
    for (const line of body.slice(0, 3)) {
      // The verdict column starts where its rule starts.
      expect(line.slice(starts[6])).toMatch(/^(PASS|MISS|INFO|SKIP)$/);
    }
  });

  it('shows values with units, targets with comparators, ratios and verdicts', () => {
    expect(lines[2]).toMatch(/runtime-convergence\s+10,000 Widgets converged \[1\]\s+12\.3 s\s+ratio <= 1\.25\s+10\.5 s\s+1\.18\s+PASS$/);
    expect(lines[3]).toMatch(/status patches\/s at concurrency 16 \[2\]\s+6,543\/s\s+>= 5,000\/s\s+20,000\/s\s+0\.33\s+PASS$/);
    expect(lines[4]).toMatch(/pairs\/s, Redis \[3\]\s+-\s+-\s+-\s+-\s+SKIP$/);
  });

  it('numbers the notes, baselines and skip reasons below the table', () => {
    expect(lines.slice(-3)).toEqual(['[1] median of 5 rounds', '[2] baseline: a trivial server.', '[3] skipped: Redis does not answer.']);
  });

  it('formats numbers with fewer decimals as they grow', () => {
    expect([formatNumber(0), formatNumber(0.004567), formatNumber(1.2345), formatNumber(12.345), formatNumber(1234.5), formatNumber(2_000_000)]).toEqual(['0', '0.0046', '1.23', '12.3', '1,235', '2,000,000']);
  });
});

describe('publishing', () => {
  let dir = '';
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('appends the figures as one JSON line to the file the runner names, and prints their table', () => {
    dir = mkdtempSync(join(tmpdir(), 'bench-report-'));
    const file = join(dir, 'figures.jsonl');
    vi.stubEnv('BENCH_FIGURES_FILE', file);
    const printed: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((text: string) => void printed.push(text));
    publish('one', [figure({ name: 'first', target: 20, comparator: '<=' })]);
    publish('two', [figure({ name: 'second' })]);
    const reports = readFileSync(file, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as unknown);
    expect(reports).toEqual([
      { benchmark: 'one', figures: [{ name: 'first', value: 10, unit: 'ms', target: 20, comparator: '<=' }] },
      { benchmark: 'two', figures: [{ name: 'second', value: 10, unit: 'ms' }] },
    ]);
    expect(printed[0]).toMatch(/one\s+first\s+10 ms\s+<= 20 ms\s+-\s+-\s+PASS/);
  });
});
