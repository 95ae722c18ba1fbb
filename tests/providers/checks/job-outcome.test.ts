import { describe, expect, it } from 'vitest';
import type { Job } from '../../../src/providers/checks/job-check-manifest.ts';
import { jobOutcomeOf } from '../../../src/providers/checks/job-check-runner.ts';

function job(status: Job['status']): Job {
  return { metadata: { name: 'nightly-0123456789', namespace: 'ci' }, ...(status === undefined ? {} : { status }) };
}

const started = '2026-01-01T00:00:00Z';

describe('jobOutcomeOf', () => {
  it('is undefined while the Job runs, interim conditions included', () => {
    expect(jobOutcomeOf(job(undefined))).toBeUndefined();
    expect(jobOutcomeOf(job({ startTime: started, active: 1, conditions: [{ type: 'FailureTarget', status: 'True', reason: 'BackoffLimitExceeded' }] }))).toBeUndefined();
    expect(jobOutcomeOf(job({ conditions: [{ type: 'Complete', status: 'False' }] }))).toBeUndefined();
  });

  it('passes a Complete Job, timed from start to completion', () => {
    const outcome = jobOutcomeOf(job({ startTime: started, completionTime: '2026-01-01T00:01:30Z', conditions: [{ type: 'Complete', status: 'True', reason: 'CompletionsReached' }] }));

    expect(outcome).toEqual({ state: 'passed', message: 'Job nightly-0123456789 completed', durationMs: 90_000 });
  });

  it('fails a Job whose check failed, with the reason and message', () => {
    const outcome = jobOutcomeOf(job({ startTime: started, conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit', lastTransitionTime: '2026-01-01T00:00:10Z' }] }));

    expect(outcome).toEqual({ state: 'failed', message: 'Job nightly-0123456789 failed (BackoffLimitExceeded): Job has reached the specified backoff limit', durationMs: 10_000 });
  });

  it('errors a Job that ran past its activeDeadlineSeconds: no verdict, a timeout', () => {
    const outcome = jobOutcomeOf(job({ startTime: started, conditions: [{ type: 'Failed', status: 'True', reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline', lastTransitionTime: '2026-01-01T00:10:00Z' }] }));

    expect(outcome).toEqual({ state: 'errored', message: 'Job nightly-0123456789 timed out: Job was active longer than specified deadline', durationMs: 600_000 });
  });
});
