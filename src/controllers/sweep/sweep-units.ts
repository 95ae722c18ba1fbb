// The units of a Sweep: one per repository and check, with a stable id and a stable order.
import type { SweepCheck, SweepRepository, SweepSpec } from '../../api/sweep.ts';
import type { FanOutUnit } from '../../workflow/step.ts';

/** One unit of work: a check run against a repository. */
export interface SweepUnit extends FanOutUnit {
  /** `<repository>/<check>`: stable across reconciles and restarts, unique in the Sweep. */
  readonly id: string;
  readonly repository: SweepRepository;
  readonly check: SweepCheck;
}

/**
 * The id of a unit, `<repository>/<check>`. Unambiguous: repository names have no `/` (the schema's
 * pattern), and check names are DNS labels.
 */
export function unitId(repository: string, check: string): string {
  return `${repository}/${check}`;
}

/** The repository and check of a unit id; undefined for a string that is not one. */
export function parseUnitId(id: string): { readonly repository: string; readonly check: string } | undefined {
  const slash = id.indexOf('/');
  if (slash <= 0 || slash === id.length - 1 || id.indexOf('/', slash + 1) >= 0) return undefined;
  return { repository: id.slice(0, slash), check: id.slice(slash + 1) };
}

/**
 * The units of a spec in scheduling order: by repository, then by check, each in spec order. This is
 * also the order of `status.results`, so both read the same way and neither moves between writes.
 */
export function sweepUnits(spec: Pick<SweepSpec, 'repositories' | 'checks'>): SweepUnit[] {
  return spec.repositories.flatMap((repository) => spec.checks.map((check) => ({ id: unitId(repository.name, check.name), repository, check })));
}
