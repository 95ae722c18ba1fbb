// Random fault schedules against the workflow engine: operator processes killed, and claims, provider calls,
// completions and status writes failing before they land or after (the answer lost), in any number and order.
// Whatever the schedule, the run succeeds and each side effect takes effect once per idempotency key, always under
// a live claim, repeated only in the one documented window (tests/support/crash-harness.ts).
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { expectExactlyOnce, operate, type Fault, type ProcessPlan } from '../support/crash-harness.ts';
import { propertyRuns, propertyTimeoutMs } from './property-runs.ts';

/** The faults one process meets: a few points of the roughly 70 of a clean run, each a kill or a failure. */
const processPlan: fc.Arbitrary<ProcessPlan> = fc
  .array(fc.tuple(fc.integer({ min: 1, max: 80 }), fc.constantFrom<Fault>('kill', 'fail', 'fail', 'fail')), { maxLength: 6 })
  .map((faults) => ({ faults: new Map(faults) }));

const describePlans = (plans: readonly ProcessPlan[]): string => plans.map((plan, index) => `process-${index + 1}: ${[...plan.faults].map(([point, fault]) => `${fault}@${point}`).join(' ') || 'no fault'}`).join('; ');

describe('the workflow engine under random fault schedules', () => {
  it(
    'runs every side effect once per key, whatever processes die and whatever operations fail or lose their answer',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(processPlan, { minLength: 1, maxLength: 4 }), async (plans) => {
          // Enough attempts that a schedule cannot exhaust a step's retries: the run must end succeeded.
          const { outside, result } = await operate(plans, undefined, { maxAttempts: 30 });
          try {
            expectExactlyOnce(outside, result);
          } catch (error) {
            throw new Error(`schedule ${describePlans(plans)}`, { cause: error });
          }
        }),
        propertyRuns(150, 2_500),
      );
    },
    propertyTimeoutMs(30_000, 900_000),
  );
});
