import { describe, expect, it } from 'vitest';
import { Checkpoint } from '../../src/workflow/checkpoint.ts';
import type { WorkflowSnapshot, WorkflowStatusStore } from '../../src/workflow/workflow-status-store.ts';

/** A status store whose saves finish only when the test says so. */
function slowStore() {
  const saved: WorkflowSnapshot[] = [];
  const pending: { finish: () => void; fail: (error: Error) => void }[] = [];
  const store: WorkflowStatusStore = {
    save: (snapshot) =>
      new Promise<void>((resolve, reject) => {
        pending.push({
          finish: () => {
            saved.push(snapshot);
            resolve();
          },
          fail: reject,
        });
      }),
  };
  return { store, saved, pending };
}

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));
const snapshotOf = (attempts: number): WorkflowSnapshot => ({ workflow: { id: 'uid/1', steps: [{ name: 'deploy', state: 'Running', attempts }] }, units: {} });

describe('Checkpoint', () => {
  it('writes one save at a time and coalesces the transitions made meanwhile into the next save', async () => {
    const { store, saved, pending } = slowStore();
    let attempts = 1;
    const checkpoint = new Checkpoint(store, () => snapshotOf(attempts));
    const first = checkpoint.save();
    attempts = 2;
    const second = checkpoint.save();
    attempts = 3;
    const third = checkpoint.save();
    await flush();
    expect(pending).toHaveLength(1);
    pending[0]?.finish();
    await first;
    await flush();
    // One more save carries both later transitions.
    expect(pending).toHaveLength(2);
    pending[1]?.finish();
    await Promise.all([second, third]);
    expect(saved.map((s) => s.workflow.steps[0]?.attempts)).toEqual([1, 3]);
  });

  it('saves a copy: later changes never leak into what the store holds', async () => {
    const saved: WorkflowSnapshot[] = [];
    const live = snapshotOf(1);
    const checkpoint = new Checkpoint({ save: async (snapshot) => void saved.push(snapshot) }, () => live);
    await checkpoint.save();
    (live.workflow.steps[0] as { attempts: number }).attempts = 9;
    expect(saved[0]?.workflow.steps[0]?.attempts).toBe(1);
  });

  it('a failed save rejects its callers, and the next save writes again', async () => {
    const { store, saved, pending } = slowStore();
    const checkpoint = new Checkpoint(store, () => snapshotOf(1));
    const failing = checkpoint.save();
    await flush();
    pending[0]?.fail(new Error('409 Conflict'));
    await expect(failing).rejects.toThrow('409 Conflict');
    const retried = checkpoint.save();
    await flush();
    pending[1]?.finish();
    await retried;
    expect(saved).toHaveLength(1);
  });
});
