import { describe, expect, it } from 'vitest';
import { sweepSpecOf, type SweepObject } from '../../../src/controllers/sweep/sweep-resource.ts';
import { isTerminalError } from '../../../src/runtime/reconciler.ts';

const sweep = (spec: Record<string, unknown>): SweepObject => ({ metadata: { name: 'fleet', namespace: 'ci' }, spec });
const repositories = [{ name: 'api', url: 'https://github.com/acme/api' }];
const checks = [{ name: 'lint', runner: 'job', image: 'node:24' }];

function failure(object: SweepObject): { message: string; reason: string } {
  try {
    sweepSpecOf(object);
  } catch (error) {
    if (isTerminalError(error)) return { message: error.message, reason: error.reason };
    throw error;
  }
  throw new Error('the spec was accepted');
}

describe('sweepSpecOf', () => {
  it('names every invalid field with its full path and the value it holds', () => {
    expect(failure(sweep({ repositories, checks: [{ ...checks[0], timeoutSeconds: 0 }], schedule: '61 * * * *' }))).toEqual({
      reason: 'InvalidSpec',
      message:
        'invalid spec: spec.checks[0].timeoutSeconds: Invalid value: 0: spec.checks[0].timeoutSeconds in body should be greater than or equal to 1; spec.schedule: Invalid value: "61 * * * *": not a valid cron schedule: Constraint error, got value 61 expected range 0-59',
    });
  });

  it('reads null fields as absent, as the API server stores them', () => {
    const { spec, schedule } = sweepSpecOf(sweep({ repositories, checks: [{ ...checks[0], timeoutSeconds: null }], concurrency: null, schedule: null }));
    expect(spec).toMatchObject({ concurrency: 5, checks: [{ timeoutSeconds: 600 }] });
    expect(spec.schedule).toBeUndefined();
    expect(schedule).toBeUndefined();
  });
});
