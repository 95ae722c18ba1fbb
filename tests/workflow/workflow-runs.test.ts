import { describe, expect, it } from 'vitest';
import { idempotencyKey } from '../../src/resilience/idempotency-store.ts';
import { done, step } from '../../src/workflow/step.ts';
import { defineWorkflow, generationOfRunId, workflowRunId } from '../../src/workflow/workflow.ts';
import { engineFor, exactRetry, resource, world, type World } from '../support/workflow-fakes.ts';

/** One step with one side effect that counts its calls and records which call it was. */
function counting() {
  const calls: string[] = [];
  const workflow = defineWorkflow<null>('sweep', [
    step<null>({
      name: 'check',
      run: async (ctx) => done(await ctx.sideEffect('post', async (key) => (calls.push(key), calls.length))),
    }),
  ]);
  return { calls, workflow };
}

function reconcile(w: World, workflow: ReturnType<typeof counting>['workflow'], run: string | undefined, generation = 1) {
  return engineFor(w).run(workflow, { resource: resource(generation), ...(run === undefined ? {} : { run }), input: null, persisted: w.status.latest, store: w.status, retry: exactRetry(w.clock) });
}

describe('several runs of one generation', () => {
  it('a run label is part of the run id, so status.workflow.id tells the runs apart', () => {
    expect(workflowRunId({ uid: 'u', generation: 3 })).toBe('u/3');
    expect(workflowRunId({ uid: 'u', generation: 3 }, '3-202601010300')).toBe('u/3/3-202601010300');
    expect(generationOfRunId('u/3/3-202601010300')).toBe(3);
    expect(generationOfRunId('u/7')).toBe(7);
    expect(generationOfRunId('garbage')).toBeNaN();
    for (const bad of ['', 'a/b', '-a', 'a-', 'x'.repeat(64), 'a b']) expect(() => workflowRunId({ uid: 'u', generation: 1 }, bad)).toThrow(RangeError);
  });

  it('a run label is part of every idempotency key; keys without one keep their four parts', () => {
    expect(idempotencyKey({ uid: 'u', generation: 1, step: 's', unit: 'x' })).toBe('u/1/s/x');
    expect(idempotencyKey({ uid: 'u', generation: 1, run: 'r1', step: 's', unit: 'x' })).toBe('u/1/r1/s/x');
  });

  it('a new run of a finished generation runs its side effects again, under new keys', async () => {
    const w = world();
    const { calls, workflow } = counting();
    expect((await reconcile(w, workflow, 'first')).state).toBe('succeeded');
    expect(w.status.latest?.workflow.id).toMatch(/\/1\/first$/);
    expect((await reconcile(w, workflow, 'second')).state).toBe('succeeded');
    expect(calls).toHaveLength(2);
    expect(calls[0]).not.toBe(calls[1]);
    expect(calls[1]).toContain('/second/');
    // A finished run is not superseded: no workflow.failed for it.
    expect(w.events.summary().filter((type) => type === 'workflow.failed')).toEqual([]);
  });

  it('the same run, reconciled again (after a restart), replays its recorded results instead of calling again', async () => {
    const w = world();
    const { calls, workflow } = counting();
    await reconcile(w, workflow, 'nightly');
    const again = await reconcile(w, workflow, 'nightly');
    expect(again.state).toBe('succeeded');
    expect(calls).toHaveLength(1);
    // A fresh process with the persisted status but without the step's Succeeded state still finds the key's result.
    const status = w.status.latest;
    if (status === undefined) throw new Error('no status saved');
    w.status.saved.push({ ...status, workflow: { ...status.workflow, finishedAt: undefined, steps: [{ name: 'check', state: 'Running', attempts: 1 }] } });
    expect((await reconcile(w, workflow, 'nightly')).state).toBe('succeeded');
    expect(calls).toHaveLength(1);
  });

  it('an unfinished run superseded by another run is abandoned, naming its own generation', async () => {
    const w = world();
    const workflow = defineWorkflow<null>('sweep', [step<null>({ name: 'check', run: async () => ({ kind: 'wait', delayMs: 1_000, reason: 'job running' }) })]);
    await engineFor(w).run(workflow, { resource: resource(2), run: 'a', input: null, persisted: undefined, store: w.status, retry: exactRetry(w.clock) });
    await engineFor(w).run(workflow, { resource: resource(3), run: 'b', input: null, persisted: w.status.latest, store: w.status, retry: exactRetry(w.clock) });
    const failed = w.events.events.find((event) => event.type === 'workflow.failed');
    expect(failed).toMatchObject({ generation: 2, correlationId: expect.stringMatching(/\/2\/a$/) as unknown as string, message: 'superseded by generation 3' });
  });
});
