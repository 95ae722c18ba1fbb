import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { structuralSchema } from '../../../src/api/structural-schema.ts';
import { sweepSpecSchema, type SweepSpec } from '../../../src/api/sweep.ts';
import { canonicalJson } from '../../../src/events/canonical-json.ts';
import { parseRun, planRun, runWorkflowId, sweepRun, workHash, type RunPlanInput } from '../../../src/controllers/sweep/sweep-run.ts';
import { SweepSchedule } from '../../../src/controllers/sweep/sweep-schedule.ts';
import { parseUnitId, sweepUnits, unitId } from '../../../src/controllers/sweep/sweep-units.ts';

const UID = '0c5b2a1e-3f4d-4e5f-8a9b-1c2d3e4f5a6b';
const at = (iso: string): number => Date.parse(iso);

function spec(overrides: Record<string, unknown> = {}): SweepSpec {
  return sweepSpecSchema.parse({
    repositories: [{ name: 'api', url: 'https://github.com/acme/api' }, { name: 'web', url: 'https://github.com/acme/web', ref: 'main' }],
    checks: [
      { name: 'lint', runner: 'job', image: 'node:24' },
      { name: 'merge-ready', runner: 'http', url: 'https://checker.example/merge-ready', secretRef: { name: 'checker', key: 'hmac' } },
    ],
    ...overrides,
  });
}

describe('units of a Sweep', () => {
  it('are one per repository and check, ordered by repository then check as in the spec, with stable ids', () => {
    const units = sweepUnits(spec());
    expect(units.map((unit) => unit.id)).toEqual(['api/lint', 'api/merge-ready', 'web/lint', 'web/merge-ready']);
    expect(sweepUnits(spec()).map((unit) => unit.id)).toEqual(units.map((unit) => unit.id));
    expect(units[2]).toMatchObject({ repository: { name: 'web', ref: 'main' }, check: { name: 'lint', runner: 'job' } });
  });

  it('ids parse back to their repository and check; anything else does not', () => {
    expect(parseUnitId(unitId('my.repo_1', 'lint'))).toEqual({ repository: 'my.repo_1', check: 'lint' });
    for (const bad of ['', 'api', '/lint', 'api/', 'a/b/c']) expect(parseUnitId(bad)).toBeUndefined();
  });
});

describe('the run of a Sweep', () => {
  it('hashes only what the run checks: settings that shape how it runs leave the hash alone', () => {
    const base = workHash(spec());
    expect(workHash(spec({ concurrency: 50, failFast: true, suspend: true, schedule: '0 3 * * *', ttlSecondsAfterFinished: 60 }))).toBe(base);
    expect(workHash(spec({ retryPolicy: 'critical' }))).not.toBe(base);
    expect(workHash(spec({ repositories: [{ name: 'api', url: 'https://github.com/acme/api', ref: 'v2' }] }))).not.toBe(base);
  });

  it('keeps its hash when a later schema adds fields with defaults, and when the spec spells defaults out', () => {
    const written = { repositories: [{ name: 'api', url: 'https://github.com/acme/api' }], checks: [{ name: 'lint', runner: 'job', image: 'node:24' }] };
    const base = workHash(sweepSpecSchema.parse(written));
    // A later operator's schema: the checks gain a field with a default.
    const later = z.object({
      ...sweepSpecSchema.shape,
      checks: z.array(z.object({ name: z.string(), runner: z.string(), image: z.string(), cpu: z.string().default('100m').describe('CPU request.') })).describe('Checks.'),
    });
    const hashLater = (checks: Record<string, unknown>[]) => workHash(later.parse({ ...written, checks }) as unknown as SweepSpec, structuralSchema(later));
    expect(hashLater([{ name: 'lint', runner: 'job', image: 'node:24' }])).toBe(base);
    expect(hashLater([{ name: 'lint', runner: 'job', image: 'node:24', cpu: '100m' }])).toBe(base);
    expect(hashLater([{ name: 'lint', runner: 'job', image: 'node:24', cpu: '2' }])).not.toBe(base);
    expect(workHash(sweepSpecSchema.parse({ ...written, retryPolicy: 'default' }))).toBe(base);
  });

  it('names runs so that status.workflow.id parses back to the same run', () => {
    const plain = sweepRun(3, 'a1b2c3d4e5');
    const ticked = sweepRun(4, 'a1b2c3d4e5', at('2026-03-01T03:00:00Z'));
    expect(plain).toMatchObject({ label: 'a1b2c3d4e5', runId: '3-a1b2c3d4e5', tickMs: undefined });
    expect(ticked).toMatchObject({ label: 'a1b2c3d4e5-20260301T0300Z', runId: '4-a1b2c3d4e5-20260301T0300Z' });
    expect(runWorkflowId(UID, ticked)).toBe(`${UID}/4/a1b2c3d4e5-20260301T0300Z`);
    expect(parseRun(runWorkflowId(UID, ticked), UID)).toEqual(ticked);
    expect(parseRun(runWorkflowId(UID, plain), UID)).toEqual(plain);
    for (const other of [undefined, `${UID}/3`, `other-uid/3/a1b2c3d4e5`, `${UID}/x/a1b2c3d4e5`, `${UID}/3/not-a-hash`]) expect(parseRun(other, UID)).toBeUndefined();
  });

  const input = (overrides: Partial<RunPlanInput> = {}): RunPlanInput => ({ uid: UID, generation: 1, spec: spec(), workflow: undefined, schedule: undefined, nowMs: at('2026-01-01T01:00:00Z'), ...overrides });

  it('carries on the run of the current generation whatever hash labels it, and a run labelled before hashes left defaults out', () => {
    const otherwise = runWorkflowId(UID, sweepRun(3, '0123456789'));
    expect(planRun(input({ generation: 3, workflow: { id: otherwise } }))).toEqual({ kind: 'continue', run: sweepRun(3, '0123456789') });
    expect(planRun(input({ generation: 4, workflow: { id: otherwise } }))).toMatchObject({ kind: 'start', run: { generation: 4 } });
    const { repositories, checks, retryPolicy } = spec();
    const labelled = createHash('sha256').update(canonicalJson({ repositories, checks, retryPolicy }), 'utf8').digest('hex').slice(0, 10);
    expect(labelled).not.toBe(workHash(spec()));
    const run = sweepRun(1, labelled);
    expect(planRun(input({ generation: 2, spec: spec({ suspend: true }), workflow: { id: runWorkflowId(UID, run) } }))).toEqual({ kind: 'continue', run });
  });

  it('starts a run of the current generation when status has none, or one of other work', () => {
    expect(planRun(input({ generation: 2 }))).toEqual({ kind: 'start', run: sweepRun(2, workHash(spec())), reason: 'spec', missedTicks: 0 });
    const old = runWorkflowId(UID, sweepRun(1, workHash(spec({ retryPolicy: 'critical' }))));
    expect(planRun(input({ generation: 2, workflow: { id: old } }))).toMatchObject({ kind: 'start', run: { generation: 2 } });
  });

  it('goes on with the run in status when only settings changed: resuming a suspended Sweep continues its run', () => {
    const run = sweepRun(1, workHash(spec()));
    const workflow = { id: runWorkflowId(UID, run), startedAt: '2026-01-01T00:00:00Z' };
    expect(planRun(input({ generation: 5, spec: spec({ suspend: true }), workflow }))).toEqual({ kind: 'continue', run });
    expect(planRun(input({ generation: 6, spec: spec({ concurrency: 20 }), workflow }))).toEqual({ kind: 'continue', run });
  });

  it('starts nothing while suspended', () => {
    expect(planRun(input({ spec: spec({ suspend: true }) }))).toEqual({ kind: 'idle' });
  });

  it('starts a scheduled run for a due tick once the current run has finished, never during it', () => {
    const schedule = SweepSchedule.parse('0 3 * * *');
    const run = sweepRun(1, workHash(spec()));
    const running = { id: runWorkflowId(UID, run), startedAt: '2026-01-01T01:00:00Z' };
    const finished = { ...running, finishedAt: '2026-01-01T01:30:00Z' };
    expect(planRun(input({ schedule, workflow: running, nowMs: at('2026-01-01T03:00:00Z') }))).toEqual({ kind: 'continue', run });
    expect(planRun(input({ schedule, workflow: finished, nowMs: at('2026-01-01T02:59:59Z') }))).toEqual({ kind: 'continue', run });
    expect(planRun(input({ schedule, workflow: finished, generation: 2, nowMs: at('2026-01-01T03:00:00Z') }))).toEqual({
      kind: 'start',
      run: sweepRun(2, workHash(spec()), at('2026-01-01T03:00:00Z')),
      reason: 'schedule',
      missedTicks: 0,
    });
    expect(planRun(input({ schedule, workflow: finished, spec: spec({ suspend: true }), nowMs: at('2026-01-01T03:00:00Z') }))).toEqual({ kind: 'continue', run });
  });

  it('counts ticks from the tick a scheduled run was started for, so the same tick never starts two runs', () => {
    const schedule = SweepSchedule.parse('0 3 * * *');
    const run = sweepRun(1, workHash(spec()), at('2026-01-01T03:00:00Z'));
    const finished = { id: runWorkflowId(UID, run), startedAt: '2026-01-01T03:00:02Z', finishedAt: '2026-01-01T03:20:00Z' };
    expect(planRun(input({ schedule, workflow: finished, nowMs: at('2026-01-01T03:25:00Z') }))).toEqual({ kind: 'continue', run });
    expect(planRun(input({ schedule, workflow: finished, nowMs: at('2026-01-02T03:00:00Z') }))).toMatchObject({ kind: 'start', run: { tickMs: at('2026-01-02T03:00:00Z') } });
  });
});
