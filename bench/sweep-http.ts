// Benchmark: a 1,000-unit Sweep of http checks against a checker answering after a fixed delay, against the ideal
// (units ÷ concurrency × delay) and against a baseline measured in the same run: the same 1,000 checks through the same
// http runner under a plain semaphore, without workflow, idempotency or status.
// Run: npm run bench -- --only sweep, or node bench/sweep-http.ts [--units 1000] [--concurrency 20] [--delay-ms 200,1000].
// The target (wall ÷ ideal ≤ 1.1) is judged at the longest delay; shorter delays are shown for context: a slot's fixed
// cost per unit weighs more against a quicker check.
// The API server is `blackroad-operator dev --no-operator` in a child process, so it does not share the operator's core.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { GROUP_VERSION } from '../src/api/group-version.ts';
import { sweepSpecSchema, type Sweep } from '../src/api/sweep.ts';
import { SWEEPS } from '../src/controllers/sweep/sweep-resource.ts';
import { builtinResources, KubeClient } from '../src/kube/client.ts';
import { createLogger } from '../src/observability/logger.ts';
import { SecretMask } from '../src/observability/redact.ts';
import { HttpCheckRunner } from '../src/providers/checks/http-check-runner.ts';
import { SecretReader } from '../src/providers/secret-reader.ts';
import { systemClock } from '../src/resilience/clock.ts';
import { Checkpoint } from '../src/workflow/checkpoint.ts';
import { startSweepOperator } from '../tests/integration/sweep/sweep-operator.ts';
import { parsePrometheusText } from '../tests/support/prometheus-text.ts';
import { publish, size, type Figure } from './report.ts';

const { values } = parseArgs({ options: { units: { type: 'string', default: String(size(1000, 200)) }, concurrency: { type: 'string', default: '20' }, 'delay-ms': { type: 'string', default: '200,1000' } } });
const UNITS = Number(values.units);
const CONCURRENCY = Number(values.concurrency);
const DELAYS_MS = (values['delay-ms'] ?? '')
  .split(',')
  .map(Number)
  .sort((a, b) => a - b);
const CHECKS = 10;
/** Issue 7's target: the sweep's wall time within 1.1 × units ÷ concurrency × delay. */
const TARGET_RATIO = 1.1;
const NAMESPACE = 'bench';

/** A checker answering `{status: "pass"}` after `delayMs`; counts calls, the most at once, and time spent answering. */
async function startChecker(delayMs: number) {
  const counts = { calls: 0, inFlight: 0, peak: 0, busyMs: 0 };
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    request.resume();
    request.on('end', () => {
      counts.calls += 1;
      counts.inFlight += 1;
      counts.peak = Math.max(counts.peak, counts.inFlight);
      const started = performance.now();
      setTimeout(() => {
        counts.inFlight -= 1;
        counts.busyMs += performance.now() - started;
        response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"pass","details":"ok"}');
      }, delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/check`,
    counts,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Where the time between two checks of a slot goes: the operator runs in this process, so the bench times its
 * status writes (`KubeClient.patch`) and how long units wait for their state to be saved (`Checkpoint.save`).
 */
const timings = { patchMs: 0, patches: 0, saveWaitMs: 0, saveWaits: 0 };
function timed<T extends object>(prototype: T, method: keyof T, add: (ms: number) => void): void {
  const original = prototype[method] as (...args: unknown[]) => Promise<unknown>;
  Object.assign(prototype, {
    [method]: async function (this: unknown, ...args: unknown[]) {
      const startedMs = performance.now();
      try {
        return await original.apply(this, args);
      } finally {
        add(performance.now() - startedMs);
      }
    },
  });
}
timed(KubeClient.prototype, 'patch', (ms) => ((timings.patchMs += ms), (timings.patches += 1)));
timed(Checkpoint.prototype, 'save', (ms) => ((timings.saveWaitMs += ms), (timings.saveWaits += 1)));

/** `blackroad-operator dev --no-operator` on a free port; resolves with its kubeconfig once it serves. */
async function startApiServer(dir: string): Promise<{ kubeconfigPath: string; stop: () => Promise<void> }> {
  const main = new URL('../src/cli/main.ts', import.meta.url).pathname;
  const child = spawn(process.execPath, [main, 'dev', '--no-operator', '--no-demo', '--port', '0', '--kubeconfig', join(dir, 'kubeconfig')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const kubeconfigPath = await new Promise<string>((resolve, reject) => {
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const match = /^kubeconfig: (.+)$/m.exec(output);
      if (match?.[1] !== undefined) resolve(match[1].trim());
    });
    child.once('exit', (code) => reject(new Error(`dev exited with ${code}`)));
  });
  return {
    kubeconfigPath,
    stop: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

const spec = (url: string) => ({
  repositories: Array.from({ length: UNITS / CHECKS }, (_, i) => ({ name: `repo-${i}`, url: `https://github.com/acme/repo-${i}` })),
  checks: Array.from({ length: CHECKS }, (_, i) => ({ name: `check-${i}`, runner: 'http', url, secretRef: { name: 'checker', key: 'hmac' }, timeoutSeconds: 60 })),
  concurrency: CONCURRENCY,
});

/** The same checks through the same runner, `CONCURRENCY` at a time, nothing else: what the machine allows. */
async function baseline(client: KubeClient, url: string): Promise<number> {
  const parsed = sweepSpecSchema.parse(spec(url));
  const runner = new HttpCheckRunner({ fetch: (u, init) => fetch(u, init), clock: systemClock, logger: createLogger({ level: 'silent' }), secrets: new SecretReader({ kube: client, mask: new SecretMask() }) });
  const units = parsed.repositories.flatMap((repository) => parsed.checks.map((check) => ({ sweep: { name: 'baseline', namespace: NAMESPACE, uid: 'baseline' }, runId: 'baseline', repository, check, ttlSecondsAfterFinished: 0 })));
  let next = 0;
  const startedMs = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < units.length) {
        const unit = units[next];
        next += 1;
        if (unit !== undefined) await runner.start({ unit, idempotencyKey: `baseline/${next}` });
      }
    }),
  );
  return performance.now() - startedMs;
}

async function sweep(client: KubeClient, kubeconfigPath: string, url: string, name: string): Promise<{ wallMs: number; status: Sweep['status']; patches: number; reconciles: number }> {
  // The composition root of `blackroad-operator run`, with production timings.
  const operator = await startSweepOperator(kubeconfigPath, NAMESPACE, { tuning: {} });
  const createdAtMs = Date.now();
  await client.create(SWEEPS, { apiVersion: GROUP_VERSION, kind: 'Sweep', metadata: { name, namespace: NAMESPACE }, spec: spec(url) } as never, { namespace: NAMESPACE });
  // Polled slowly: reading a 100 KB status often would load the process the operator runs in. The wall time is
  // taken from the run's own finishedAt (same machine clock), so the polling interval does not blur it.
  let current: Sweep;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    current = await client.get<Sweep & { metadata: { name: string } }>(SWEEPS, name, { namespace: NAMESPACE });
    if (current.status?.workflow?.finishedAt !== undefined) break;
  }
  const wallMs = Date.parse(current.status.workflow.finishedAt) - createdAtMs;
  const families = parsePrometheusText(await operator.metrics());
  const sum = (metric: string, keep: (labels: Record<string, string>) => boolean) => (families.get(metric)?.samples ?? []).filter((s) => keep(s.labels)).reduce((total, s) => total + s.value, 0);
  const patches = sum('rest_client_requests_total', (labels) => labels['method'] === 'PATCH');
  const reconciles = sum('controller_runtime_reconcile_total', () => true);
  await operator.stop();
  return { wallMs, status: current.status, patches, reconciles };
}

const dir = mkdtempSync(join(tmpdir(), 'sweep-bench-'));
const api = await startApiServer(dir);
const client = KubeClient.fromFile(api.kubeconfigPath, {});
const figures: Figure[] = [];
try {
  await client.create(builtinResources.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } });
  await client.create(builtinResources.secrets, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'checker', namespace: NAMESPACE }, stringData: { hmac: 'bench-key' } } as never, { namespace: NAMESPACE });
  for (const delayMs of DELAYS_MS) {
    const checker = await startChecker(delayMs);
    const idealSeconds = ((UNITS / CONCURRENCY) * delayMs) / 1000;
    const baseSeconds = (await baseline(client, checker.url)) / 1000;
    checker.counts.calls = 0;
    checker.counts.peak = 0;
    checker.counts.busyMs = 0;
    Object.assign(timings, { patchMs: 0, patches: 0, saveWaitMs: 0, saveWaits: 0 });
    const run = await sweep(client, api.kubeconfigPath, checker.url, `bench-${delayMs}`);
    await checker.close();
    assertSweepRan(run.status, checker.counts);
    const judged = delayMs === DELAYS_MS.at(-1);
    const perUnitMs = (run.wallMs * CONCURRENCY) / UNITS - delayMs;
    const ideal = `the ideal, ${UNITS.toLocaleString('en-US')} units ÷ concurrency ${CONCURRENCY} × ${delayMs.toLocaleString('en-US')} ms`;
    figures.push(
      {
        name: `${UNITS.toLocaleString('en-US')}-unit http Sweep, concurrency ${CONCURRENCY}, checker answering in ${delayMs.toLocaleString('en-US')} ms: wall time`,
        value: run.wallMs / 1000,
        unit: 's',
        ...(judged ? { target: TARGET_RATIO, comparator: '<=' as const, judge: 'ratio' as const } : {}),
        baseline: idealSeconds,
        baselineLabel: ideal,
        note:
          `from the Sweep's creation to its status.workflow.finishedAt, the operator's composition root in the benchmark's process, the API server in its own; ` +
          `${run.status?.summary?.passed} passed; checker: ${checker.counts.calls} calls, at most ${checker.counts.peak} at once, busy ${((checker.counts.busyMs / (run.wallMs * CONCURRENCY)) * 100).toFixed(1)} % of the slots; ${run.reconciles} reconciles. ` +
          `A slot idles ${perUnitMs.toFixed(1)} ms per unit between two checks, of which ${(timings.saveWaitMs / UNITS).toFixed(1)} ms waiting for status writes ` +
          `(${(timings.saveWaits / UNITS).toFixed(1)} saves per unit; ${run.patches} writes of ${(timings.patchMs / timings.patches).toFixed(1)} ms on average, one every ${(run.wallMs / run.patches).toFixed(0)} ms)`,
      },
      {
        name: `the same checks through the http runner under a plain semaphore, ${delayMs.toLocaleString('en-US')} ms`,
        value: baseSeconds,
        unit: 's',
        baseline: idealSeconds,
        note: `no workflow, idempotency or status: what the machine allows; the Sweep took ${(run.wallMs / 1000 / baseSeconds).toFixed(3)} × this`,
      },
    );
  }
} finally {
  client.close();
  await api.stop();
  rmSync(dir, { recursive: true, force: true });
  // What was measured before a failure is still reported; the failure itself makes the run an ERROR row.
  if (figures.length > 0) publish('sweep-http', figures);
}

/** A wall time is only a figure when the Sweep did the work: every unit passed, each checked once, never more than `concurrency` at once. */
function assertSweepRan(status: Sweep['status'], counts: { calls: number; peak: number }): void {
  const passed = status?.summary?.passed ?? 0;
  if (status?.phase !== 'Succeeded' || passed !== UNITS || counts.calls !== UNITS || counts.peak > CONCURRENCY) {
    throw new Error(`the Sweep ended ${status?.phase ?? 'without a phase'} with ${passed} of ${UNITS} units passed, ${counts.calls} checker calls, at most ${counts.peak} at once (concurrency ${CONCURRENCY})`);
  }
}
