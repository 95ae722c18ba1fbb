// Named health checks that components register; /healthz and /readyz are the conjunction of theirs.

/** A check passes by returning `true` (or nothing) and fails by returning `false`, a reason string, or throwing. */
export type Check = () => boolean | string | void | Promise<boolean | string | void>;

export interface CheckResult {
  readonly name: string;
  readonly ok: boolean;
  readonly reason?: string;
}

export interface CheckReport {
  readonly ok: boolean;
  readonly results: readonly CheckResult[];
}

/** A set of named checks, like controller-runtime's `AddReadyzCheck`/`AddHealthzCheck`. */
export class Checks {
  readonly #checks = new Map<string, Check>();

  /** Registers a check under a unique name; returns a function that removes it. */
  register(name: string, check: Check): () => void {
    if (this.#checks.has(name)) throw new Error(`check "${name}" is already registered`);
    this.#checks.set(name, check);
    return () => {
      if (this.#checks.get(name) === check) this.#checks.delete(name);
    };
  }

  /** Runs every check concurrently. With no checks registered the report is ok. */
  async evaluate(): Promise<CheckReport> {
    const results = await Promise.all(
      [...this.#checks].map(async ([name, check]): Promise<CheckResult> => {
        try {
          const outcome = await check();
          if (outcome === false) return { name, ok: false, reason: 'failed' };
          if (typeof outcome === 'string') return { name, ok: false, reason: outcome };
          return { name, ok: true };
        } catch (error) {
          return { name, ok: false, reason: error instanceof Error ? error.message : String(error) };
        }
      }),
    );
    return { ok: results.every((result) => result.ok), results };
  }
}

/** Renders a report as kube-apiserver renders its own `?verbose` health output: `[+]name ok` / `[-]name failed: reason`. */
export function renderReport(kind: 'healthz' | 'readyz', report: CheckReport): string {
  const lines = report.results.map((result) => (result.ok ? `[+]${result.name} ok` : `[-]${result.name} failed: ${result.reason ?? 'failed'}`));
  lines.push(report.ok ? `${kind} check passed` : `${kind} check failed`);
  return `${lines.join('\n')}\n`;
}
