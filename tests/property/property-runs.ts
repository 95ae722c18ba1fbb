// How many cases each property test runs: a few in `npm test`, many under PROPERTY_RUNS=full (`npm run test:property`).
// PROPERTY_SEED replays a failing run (fast-check prints the seed and path it failed with).

/** Whether this is the full run. */
export const FULL_RUN = process.env['PROPERTY_RUNS'] === 'full';

const seed = process.env['PROPERTY_SEED'];

/** fast-check parameters: `quick` cases in `npm test`, `full` under PROPERTY_RUNS=full; the seed when one is given. */
export function propertyRuns(quick: number, full: number): { numRuns: number; seed?: number } {
  return { numRuns: FULL_RUN ? full : quick, ...(seed === undefined || seed === '' ? {} : { seed: Number(seed) }) };
}

/** A test timeout that grows with the run: `quickMs` in `npm test`, `fullMs` in the full run. */
export function propertyTimeoutMs(quickMs: number, fullMs: number): number {
  return FULL_RUN ? fullMs : quickMs;
}
