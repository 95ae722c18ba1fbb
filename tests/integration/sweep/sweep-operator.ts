// The operator for the Sweep suites: the real composition root in this process, or the Sweep controller's parts on a chosen clock.
import { fileURLToPath } from 'node:url';
import type { OperatorTuning } from '../../../src/cli/operator.ts';
import type { ControllerContext } from '../../../src/controllers/controller-context.ts';
import { exponentialBackoff } from '../../../src/resilience/backoff.ts';
import type { Clock } from '../../../src/resilience/clock.ts';
import type { RetrySettings } from '../../../src/resilience/retry.ts';
import { testControllerContext } from '../../support/controller-context.ts';
import { startInProcessOperator, type InProcessOperator } from '../../support/in-process-operator.ts';

export const REPO_ROOT = fileURLToPath(new URL('../../..', import.meta.url));

/** Retries quick enough for tests: 4 attempts, 100 ms then doubling, no jitter. */
const QUICK_RETRY = (name: string): RetrySettings => ({ name, maxAttempts: 4, backoff: exponentialBackoff({ initialDelayMs: 100, multiplier: 2, maxDelayMs: 1_000, jitter: 'none' }), attemptTimeoutMs: 10_000, maxInCallWaitMs: 0 });

/** Short timings for the Sweep suites; the logic is the production one. */
export const SWEEP_TEST_TUNING: OperatorTuning = {
  retry: { default: QUICK_RETRY('default'), critical: QUICK_RETRY('critical') },
  sweep: { jobPollMs: 5_000 },
  agentSampleMs: 1_000,
};

export type SweepOperator = InProcessOperator;

/** Runs the operator (the composition root of `blackroad-operator run`) in this process, watching `namespace`, on the Sweep suites' timings. */
export function startSweepOperator(kubeconfigPath: string, namespace: string, options: { readonly tuning?: OperatorTuning; readonly env?: Record<string, string> } = {}): Promise<SweepOperator> {
  return startInProcessOperator({ kubeconfigPath, namespace, tuning: options.tuning ?? SWEEP_TEST_TUNING, ...(options.env === undefined ? {} : { env: options.env }) });
}

/**
 * What the composition root hands the Sweep controller, on `clock` and with memory stores, for tests that call
 * the reconciler themselves. The client retries on real time whatever the clock.
 */
export function sweepContext(kubeconfigPath: string, clock: Clock): { context: ControllerContext; close: () => Promise<void> } {
  return testControllerContext(kubeconfigPath, clock, { default: QUICK_RETRY('default'), critical: QUICK_RETRY('critical') });
}
