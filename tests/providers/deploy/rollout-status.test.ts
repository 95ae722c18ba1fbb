import { describe, expect, it } from 'vitest';
import { rolloutOf, type Deployment } from '../../../src/providers/deploy/kubernetes-provider.ts';

function deployment(generation: number, spec: NonNullable<Deployment['spec']>, status?: Deployment['status']): Deployment {
  return { metadata: { name: 'api', namespace: 'prod', generation }, spec, ...(status === undefined ? {} : { status }) };
}

describe('rolloutOf', () => {
  it.each([
    ['the controller has not seen the change yet', deployment(3, { replicas: 2 }, { observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: 2 }), 'progressing', 'waiting for the Deployment controller to observe generation 3'],
    ['too few replicas are updated', deployment(3, { replicas: 3 }, { observedGeneration: 3, replicas: 4, updatedReplicas: 1, availableReplicas: 3 }), 'progressing', '1 of 3 replicas updated'],
    ['old replicas are still there', deployment(3, { replicas: 3 }, { observedGeneration: 3, replicas: 4, updatedReplicas: 3, availableReplicas: 3 }), 'progressing', '1 old replicas pending termination'],
    ['updated replicas are not available yet', deployment(3, { replicas: 3 }, { observedGeneration: 3, replicas: 3, updatedReplicas: 3, availableReplicas: 2 }), 'progressing', '2 of 3 updated replicas available'],
    ['every replica is updated and available', deployment(3, { replicas: 3 }, { observedGeneration: 3, replicas: 3, updatedReplicas: 3, availableReplicas: 3 }), 'succeeded', '3 of 3 replicas updated and available'],
    ['replicas default to one', deployment(1, {}, { observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 1 }), 'succeeded', '1 of 1 replicas updated and available'],
    ['a paused Deployment says so', deployment(2, { replicas: 1, paused: true }, { observedGeneration: 2, replicas: 1, updatedReplicas: 0 }), 'progressing', '0 of 1 replicas updated (the Deployment is paused)'],
    ['no status at all', deployment(1, { replicas: 1 }), 'progressing', 'waiting for the Deployment controller to observe generation 1'],
  ] as const)('%s', (_case, object, state, message) => {
    expect(rolloutOf(object)).toEqual({ state, message });
  });

  it('fails the rollout when the progress deadline is exceeded, whatever the replica counts', () => {
    const object = deployment(3, { replicas: 2 }, {
      observedGeneration: 3,
      replicas: 3,
      updatedReplicas: 1,
      availableReplicas: 2,
      conditions: [
        { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable' },
        { type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'ReplicaSet "api-7d9f" has timed out progressing.' },
      ],
    });

    expect(rolloutOf(object)).toEqual({ state: 'failed', message: 'rollout exceeded its progress deadline: ReplicaSet "api-7d9f" has timed out progressing.' });
  });

  it('does not fail a new generation on the progress deadline its predecessor exceeded', () => {
    const object = deployment(4, { replicas: 2 }, {
      observedGeneration: 3,
      replicas: 2,
      updatedReplicas: 2,
      availableReplicas: 0,
      conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'ReplicaSet "api-3" has timed out progressing.' }],
    });

    expect(rolloutOf(object)).toEqual({ state: 'progressing', message: 'waiting for the Deployment controller to observe generation 4' });
  });
});
