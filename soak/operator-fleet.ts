// The two operator replicas of the soak: `node src/cli/main.ts run` processes, killed and started again as faults say.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../tests/support/private-redis.ts';

export type Slot = 'a' | 'b';

/** One process of a replica: a replica restarted is a new incarnation (as a container restart is). */
export interface OperatorIncarnation {
  readonly slot: Slot;
  readonly identity: string;
  /** 1 for the first process of the slot, then 2, 3, ... */
  readonly incarnation: number;
  readonly pid: number;
  readonly logPath: string;
  /** `http://127.0.0.1:<port>`: /healthz, /readyz, /events, ... */
  readonly probeUrl: string;
  readonly metricsUrl: string;
  readonly startedAtMs: number;
  exitedAtMs: number | undefined;
  exitCode: number | null | undefined;
  exitSignal: NodeJS.Signals | null | undefined;
  /** Killed or stopped by the soak, so its end is no failure. */
  ended: 'killed' | 'stopped' | undefined;
}

export interface OperatorFleetOptions {
  readonly repoRoot: string;
  readonly runDir: string;
  readonly kubeconfigPath: string;
  readonly namespace: string;
  readonly redisUrl: string;
  readonly redisKeyPrefix: string;
  readonly logLevel: string;
  readonly now: () => number;
}

/**
 * The node flags of the image's ENTRYPOINT (between the node binary and the script), so the replicas use memory
 * as the shipped operator does (ADR 004, ADR 012); none when the Dockerfile says nothing readable.
 */
export function imageNodeFlags(dockerfile: string): string[] {
  const entrypoint = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(dockerfile)?.[1];
  if (entrypoint === undefined) return [];
  const words = JSON.parse(entrypoint) as unknown;
  if (!Array.isArray(words)) return [];
  return words.slice(1).filter((word): word is string => typeof word === 'string' && word.startsWith('--'));
}

/**
 * Starts, kills and restarts the replicas (`node <the image's flags> src/cli/main.ts run`). Each process writes
 * its JSON logs to its own file in the run folder.
 * Replicas elect a leader on a Lease in the soak's namespace and share Redis under the soak's key prefix.
 */
export class OperatorFleet {
  readonly #options: OperatorFleetOptions;
  readonly #incarnations: OperatorIncarnation[] = [];
  readonly #children = new Map<OperatorIncarnation, { child: ChildProcess; exited: Promise<void> }>();
  readonly #live = new Map<Slot, OperatorIncarnation>();

  constructor(options: OperatorFleetOptions) {
    this.#options = options;
  }

  /** Every process started so far, in order. */
  get incarnations(): readonly OperatorIncarnation[] {
    return this.#incarnations;
  }

  /** The running process of a slot, if any. */
  live(slot: Slot): OperatorIncarnation | undefined {
    return this.#live.get(slot);
  }

  /** The slot whose running process has this identity. */
  slotOf(identity: string): Slot | undefined {
    for (const [slot, incarnation] of this.#live) if (incarnation.identity === identity) return slot;
    return undefined;
  }

  /** Starts a process in `slot` as `identity`. */
  async start(slot: Slot, identity: string): Promise<OperatorIncarnation> {
    const options = this.#options;
    const incarnation = this.#incarnations.filter((entry) => entry.slot === slot).length + 1;
    const [probePort, metricsPort] = [await freePort(), await freePort()];
    const logPath = join(options.runDir, `operator-${slot}-${incarnation}.log`);
    const log = openSync(logPath, 'a');
    const flags = imageNodeFlags(readFileSync(join(options.repoRoot, 'Dockerfile'), 'utf8'));
    const child = spawn(process.execPath, [...flags, 'src/cli/main.ts', 'run'], {
      cwd: options.repoRoot,
      env: {
        PATH: process.env['PATH'] ?? '',
        HOME: process.env['HOME'] ?? '',
        NODE_ENV: 'production',
        KUBECONFIG: options.kubeconfigPath,
        REDIS_URL: options.redisUrl,
        REDIS_KEY_PREFIX: options.redisKeyPrefix,
        WATCH_NAMESPACE: options.namespace,
        LEADER_ELECT: 'true',
        LEADER_ELECTION_NAMESPACE: options.namespace,
        POD_NAME: identity,
        METRICS_BIND_ADDRESS: `127.0.0.1:${metricsPort}`,
        HEALTH_PROBE_BIND_ADDRESS: `127.0.0.1:${probePort}`,
        LOG_LEVEL: options.logLevel,
        SHUTDOWN_TIMEOUT_SECONDS: '5',
      },
      stdio: ['ignore', log, log],
    });
    closeSync(log);
    const entry: OperatorIncarnation = {
      slot,
      identity,
      incarnation,
      pid: child.pid ?? -1,
      logPath,
      probeUrl: `http://127.0.0.1:${probePort}`,
      metricsUrl: `http://127.0.0.1:${metricsPort}`,
      startedAtMs: options.now(),
      exitedAtMs: undefined,
      exitCode: undefined,
      exitSignal: undefined,
      ended: undefined,
    };
    const exited = new Promise<void>((resolve) =>
      child.once('exit', (code, signal) => {
        entry.exitedAtMs = options.now();
        entry.exitCode = code;
        entry.exitSignal = signal;
        if (this.#live.get(slot) === entry) this.#live.delete(slot);
        resolve();
      }),
    );
    this.#incarnations.push(entry);
    this.#children.set(entry, { child, exited });
    this.#live.set(slot, entry);
    return entry;
  }

  /** SIGKILL to the slot's process; resolves once it is gone. */
  async kill(slot: Slot): Promise<OperatorIncarnation | undefined> {
    const entry = this.#live.get(slot);
    const running = entry === undefined ? undefined : this.#children.get(entry);
    if (entry === undefined || running === undefined) return undefined;
    entry.ended = 'killed';
    running.child.kill('SIGKILL');
    await running.exited;
    return entry;
  }

  /** SIGTERM to every running process; SIGKILL to those still running after `graceMs`. */
  async stopAll(graceMs = 20_000): Promise<void> {
    const running = [...this.#live.values()].map((entry) => ({ entry, process: this.#children.get(entry) }));
    for (const { entry, process: child } of running) {
      entry.ended = 'stopped';
      child?.child.kill('SIGTERM');
    }
    await Promise.all(
      running.map(async ({ process: child }) => {
        if (child === undefined) return;
        const timer = setTimeout(() => child.child.kill('SIGKILL'), graceMs);
        await child.exited;
        clearTimeout(timer);
      }),
    );
  }

  /** Processes that ended without the soak asking: crashes. */
  unexpectedExits(): OperatorIncarnation[] {
    return this.#incarnations.filter((entry) => entry.exitedAtMs !== undefined && entry.ended === undefined);
  }
}
