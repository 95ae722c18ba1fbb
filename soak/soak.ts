// `npm run soak -- --seed N --minutes M`: the seeded chaos soak (ADR 013); prints the invariants, exits 1 when one fails.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { InvariantResult } from './invariants.ts';
import { SoakRun, type SoakFigures } from './soak-run.ts';
import { workloadSize } from './workload.ts';

const USAGE = `Usage: npm run soak -- [--seed N] [--minutes M] [flags]

Runs the API server (devcluster), a private redis-server, two operator processes with leader election and the
fake providers; creates Deploys and Sweeps with scripted outcomes while faults from the seed's schedule strike for
M minutes; lets everything settle; then checks and prints the invariants. Exit code 0 when all hold, 1 otherwise.

Flags:
  --seed N              seed of the fault schedule and the workload (default 1); the schedule is printed at start
  --minutes M           minutes of faults (default 10); shorter runs create fewer resources at the same rate
  --settle-minutes S    deadline of the settle phase (default 8: a claim left by a killed process lasts 5 min)
  --deploys N, --sweeps N   override the workload size
  --log-level LEVEL     the operators' LOG_LEVEL (default info)
  --quiet-seconds S     after settling, how long no finished resource may be written (default 10)
  --keep                keep the run folder (logs, SSE streams, report.json) even when every invariant holds
`;

function number(raw: string | undefined, fallback: number, flag: string): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`--${flag}: "${raw}" is not a positive number`);
  return value;
}

function printResults(results: readonly InvariantResult[], figures: SoakFigures, print: (line: string) => void): void {
  print('');
  print(`soak report: seed ${figures.seed}, ${figures.minutes} min of faults, settled in ${(figures.settleMs / 1000).toFixed(0)} s, ${(figures.totalMs / 60_000).toFixed(1)} min in all`);
  print(`  workload: ${figures.deploys} Deploys, ${figures.sweeps} Sweeps (${figures.units} units)`);
  print(`  faults injected: ${Object.entries(figures.faults).map(([kind, count]) => `${kind} ${count}`).join(', ')}; ${figures.leaderChanges} leader changes`);
  print(`  load average: ${figures.loadAverage.start.join(' / ')} at the start, ${figures.loadAverage.end.join(' / ')} at the end (2 cores)`);
  print(`  peak RSS: ${figures.rss.map((entry) => `${entry.label} ${entry.peakMiB} MiB (bound ${entry.boundMiB})`).join('; ')}`);
  for (const result of results) {
    print(`${result.ok ? 'PASS' : 'FAIL'}  ${result.name}`);
    for (const line of result.summary.split('\n')) print(`      ${line}`);
    for (const failure of result.failures) print(`      ✗ ${failure}`);
    for (const note of result.notes ?? []) print(`      · ${note}`);
  }
  const failed = results.filter((result) => !result.ok).length;
  print(failed === 0 ? `all ${results.length} invariants hold` : `${failed} of ${results.length} invariants FAILED`);
}

async function main(argv: readonly string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        seed: { type: 'string' },
        minutes: { type: 'string' },
        'settle-minutes': { type: 'string' },
        deploys: { type: 'string' },
        sweeps: { type: 'string' },
        'log-level': { type: 'string' },
        'quiet-seconds': { type: 'string' },
        keep: { type: 'boolean' },
        help: { type: 'boolean' },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (error) {
    process.stderr.write(`soak: ${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
    return 2;
  }
  if (parsed.values.help === true) {
    process.stdout.write(USAGE);
    return 0;
  }
  let minutes: number;
  let settleMinutes: number;
  let quietSeconds: number;
  let size;
  try {
    minutes = number(parsed.values.minutes, 10, 'minutes');
    settleMinutes = number(parsed.values['settle-minutes'], 8, 'settle-minutes');
    quietSeconds = number(parsed.values['quiet-seconds'], 10, 'quiet-seconds');
    const scaled = workloadSize(minutes);
    size = { deploys: Math.round(number(parsed.values.deploys, scaled.deploys, 'deploys')), sweeps: Math.round(number(parsed.values.sweeps, scaled.sweeps, 'sweeps')) };
  } catch (error) {
    process.stderr.write(`soak: ${error instanceof Error ? error.message : String(error)}\n`);
    return 2;
  }
  const seed = parsed.values.seed ?? '1';
  const runDir = mkdtempSync(join(tmpdir(), `blackroad-soak-${seed.replace(/[^A-Za-z0-9-]/g, '_')}-`));
  const print = (line: string): void => {
    process.stdout.write(`${line}\n`);
  };
  const run = new SoakRun({ seed, minutes, settleMinutes, size, logLevel: parsed.values['log-level'] ?? 'info', runDir, repoRoot: fileURLToPath(new URL('..', import.meta.url)), quietSeconds, print });
  const { results, figures } = await run.run();
  printResults(results, figures, print);
  const ok = results.every((result) => result.ok);
  if (ok && parsed.values.keep !== true) rmSync(runDir, { recursive: true, force: true });
  else print(`run folder kept: ${runDir} (operator logs, SSE streams, API server log, report.json)`);
  return ok ? 0 : 1;
}

process.exitCode = await main(process.argv.slice(2));
