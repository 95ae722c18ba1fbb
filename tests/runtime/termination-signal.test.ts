import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/resilience/clock.ts';
import { DUPLICATE_SIGNAL_WINDOW_MS, isTerminationRequested, terminationSignal, type TerminationSignalName } from '../../src/runtime/termination-signal.ts';

function setup(): { target: EventEmitter; clock: ManualClock; forced: TerminationSignalName[]; signal: AbortSignal } {
  const target = new EventEmitter();
  const clock = new ManualClock(0);
  const forced: TerminationSignalName[] = [];
  const signal = terminationSignal({ target: target as never, clock, forceExit: (name) => forced.push(name) });
  return { target, clock, forced, signal };
}

describe('terminationSignal', () => {
  it('aborts on the first SIGTERM or SIGINT, with the signal named in its reason', () => {
    for (const name of ['SIGTERM', 'SIGINT'] as const) {
      const { target, signal } = setup();
      expect(signal.aborted).toBe(false);
      target.emit(name);
      expect(signal.aborted).toBe(true);
      expect(isTerminationRequested(signal.reason) && signal.reason.signalName).toBe(name);
    }
  });

  it('takes a repeat within the window for the same request (npm forwards the Ctrl-C its child also got) and keeps listening', () => {
    const { target, clock, forced } = setup();
    target.emit('SIGINT');
    clock.advance(DUPLICATE_SIGNAL_WINDOW_MS - 1);
    target.emit('SIGINT');
    target.emit('SIGTERM');
    expect(forced).toEqual([]);
    expect(target.listenerCount('SIGINT')).toBe(1);
    expect(target.listenerCount('SIGTERM')).toBe(1);
  });

  it('forces the exit on a repeat after the window, its handlers removed so the signal can take its default action', () => {
    const { target, clock, forced } = setup();
    target.emit('SIGTERM');
    clock.advance(DUPLICATE_SIGNAL_WINDOW_MS);
    target.emit('SIGINT');
    expect(forced).toEqual(['SIGINT']);
    expect(target.listenerCount('SIGINT') + target.listenerCount('SIGTERM')).toBe(0);
  });
});
