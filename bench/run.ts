// `npm run bench`: runs every benchmark in bench/, each in its own process, and prints one table of figures, targets, same-run baselines and verdicts.
// Options: --only PATTERN (benchmarks whose file name contains it; repeatable), --quick (reduced sizes), --verbose
// (stream each benchmark's own output), --list. Writes the run as JSON to bench/results/<timestamp>.json.
// Exit code 1 when a benchmark fails to run; a missed target is a finding, not a failure, and exits 0.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { basename, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { formatNumber, formatTable, judge, tally, type BenchmarkReport, type JudgedFigure, type TableRow } from './report.ts';

const benchDir = fileURLToPath(new URL('.', import.meta.url));
const repository = join(benchDir, '..');
/** A benchmark that runs longer than this is stopped and reported as failed. */
const TIMEOUT_MS = { full: 30 * 60_000, quick: 10 * 60_000 };

/** The benchmarks: files of bench/ whose first line says `// Benchmark:` (the rest are shared modules). */
function discover(): string[] {
  return readdirSync(benchDir)
    .filter((file) => file.endsWith('.ts'))
    .filter((file) => readFileSync(join(benchDir, file), 'utf8').startsWith('// Benchmark:'))
    .sort();
}

interface BenchmarkRun {
  readonly file: string;
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly timedOut: boolean;
  readonly durationMs: number;
  readonly loadAverageBefore: readonly number[];
  readonly loadAverageAfter: readonly number[];
  readonly figures: readonly JudgedFigure[];
  /** Everything the benchmark printed, stdout and stderr interleaved as they arrived. */
  readonly log: string;
}

/** Runs one benchmark in a fresh node process (its own heap, so memory figures are not skewed by another's garbage). */
async function runBenchmark(file: string, options: { quick: boolean; verbose: boolean }): Promise<BenchmarkRun> {
  const scratch = mkdtempSync(join(tmpdir(), 'bench-figures-'));
  const figuresFile = join(scratch, 'figures.jsonl');
  const loadAverageBefore = loadavg();
  const started = performance.now();
  const child = spawn(process.execPath, [join(benchDir, file)], {
    cwd: repository,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, BENCH_FIGURES_FILE: figuresFile, BENCH_QUICK: options.quick ? '1' : '0' },
  });
  let log = '';
  const collect = (chunk: Buffer): void => {
    log += chunk.toString('utf8');
    if (options.verbose) process.stderr.write(chunk);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  let timedOut = false;
  const timer = setTimeout(
    () => {
      timedOut = true;
      child.kill('SIGKILL');
    },
    options.quick ? TIMEOUT_MS.quick : TIMEOUT_MS.full,
  );
  const [exitCode, signal] = await new Promise<[number | null, string | null]>((resolve) => child.once('close', (code, killedBy) => resolve([code, killedBy])));
  clearTimeout(timer);
  let reports: BenchmarkReport[] = [];
  try {
    reports = readFileSync(figuresFile, 'utf8')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as BenchmarkReport);
  } catch {
    // No figures file: the benchmark died before publishing; reported below as a failure.
  }
  rmSync(scratch, { recursive: true, force: true });
  return {
    file,
    exitCode,
    signal,
    timedOut,
    durationMs: performance.now() - started,
    loadAverageBefore,
    loadAverageAfter: loadavg(),
    figures: reports.flatMap((report) => report.figures.map(judge)),
    log,
  };
}

/** Why a run counts as failed, or undefined when it ran to the end and published figures. */
function failureOf(run: BenchmarkRun): string | undefined {
  if (run.timedOut) return `stopped after ${formatNumber(run.durationMs / 1000)} s (timeout)`;
  if (run.exitCode !== 0) return `exited with ${run.exitCode ?? run.signal ?? '?'}: ${run.log.trim().split('\n').slice(-1)[0] ?? ''}`;
  if (run.figures.length === 0) return 'published no figure';
  return undefined;
}

function gitRevision(): string {
  const head = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repository, encoding: 'utf8' });
  const dirty = spawnSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: repository, encoding: 'utf8' });
  return head.status === 0 ? `${head.stdout.trim()}${dirty.stdout.trim() === '' ? '' : ' (with uncommitted changes)'}` : 'unknown';
}

const loads = (values: readonly number[]): string => values.map((value) => value.toFixed(2)).join(' ');

const { values: flags } = parseArgs({
  options: {
    only: { type: 'string', multiple: true },
    quick: { type: 'boolean', default: false },
    verbose: { type: 'boolean', default: false },
    list: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});

if (flags.help) {
  console.log('npm run bench -- [--only PATTERN]... [--quick] [--verbose] [--list]');
  process.exit(0);
}

const patterns = flags.only ?? [];
const selected = discover().filter((file) => patterns.length === 0 || patterns.some((pattern) => file.includes(pattern)));
if (flags.list || selected.length === 0) {
  if (selected.length === 0) console.error(`no benchmark matches ${patterns.join(', ')}`);
  for (const file of discover()) console.log(file);
  process.exit(selected.length === 0 ? 1 : 0);
}

const startedAt = new Date();
const machine = { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', totalMemoryMiB: Math.round(totalmem() / 1024 / 1024), node: process.version, platform: `${process.platform} ${process.arch}` };
const loadAverageAtStart = loadavg();
console.error(`benchmarks: ${selected.length}${flags.quick ? ' (quick: reduced sizes, verdicts indicative only)' : ''}; ${machine.cpus} × ${machine.cpuModel}; load average ${loads(loadAverageAtStart)}`);

const runs: BenchmarkRun[] = [];
for (const [index, file] of selected.entries()) {
  console.error(`[${index + 1}/${selected.length}] ${file} ...`);
  const run = await runBenchmark(file, { quick: flags.quick, verbose: flags.verbose });
  runs.push(run);
  const failure = failureOf(run);
  console.error(`[${index + 1}/${selected.length}] ${file}: ${failure === undefined ? `${run.figures.length} figures` : `FAILED, ${failure}`} in ${formatNumber(run.durationMs / 1000)} s (load average ${loads(run.loadAverageAfter)})`);
}
const finishedAt = new Date();

const rows: TableRow[] = runs.flatMap((run) => {
  const benchmark = basename(run.file, '.ts');
  const failure = failureOf(run);
  const figures = run.figures.map((figure) => ({ benchmark, figure }));
  return failure === undefined ? figures : [...figures, { benchmark, figure: { name: 'the benchmark failed', value: Number.NaN, unit: '', skipped: failure, verdict: 'ERROR' as const } }];
});
const counts = tally(rows.map((row) => row.figure));

const resultsDir = join(benchDir, 'results');
mkdirSync(resultsDir, { recursive: true });
const resultsFile = join(resultsDir, `${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(
  resultsFile,
  `${JSON.stringify({ startedAt: startedAt.toISOString(), finishedAt: finishedAt.toISOString(), quick: flags.quick, revision: gitRevision(), machine, loadAverageAtStart, loadAverageAtEnd: loadavg(), benchmarks: runs.map((run) => ({ ...run, failure: failureOf(run) ?? null })) }, null, 2)}\n`,
);

console.log(`Benchmarks of ${gitRevision()}, ${startedAt.toISOString()} -> ${finishedAt.toISOString()}${flags.quick ? ', QUICK (reduced sizes: verdicts indicative only)' : ''}`);
console.log(`Machine: ${machine.cpus} × ${machine.cpuModel}, ${formatNumber(machine.totalMemoryMiB)} MiB, node ${machine.node}; load average (1, 5, 15 min) ${loads(loadAverageAtStart)} at start, ${loads(loadavg())} at end`);
console.log('');
console.log(formatTable(rows));
console.log('');
console.log(`${counts.PASS} PASS, ${counts.MISS} MISS, ${counts.INFO} INFO, ${counts.SKIP} SKIP, ${counts.ERROR} ERROR. JSON: ${relative(repository, resultsFile)}`);
process.exit(counts.ERROR > 0 ? 1 : 0);
