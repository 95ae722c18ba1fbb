import { describe, expect, it } from 'vitest';
import { DEPLOY_PHASES } from '../../src/api/deploy.ts';
import { GROUP_VERSION } from '../../src/api/group-version.ts';
import { SWEEP_PHASES } from '../../src/api/sweep.ts';
import { section } from '../manifests/operations-doc.ts';
import { probeKubectl, renderKustomization, theOne, type Manifest } from '../support/kustomize.ts';
import { argoHealthOf } from './argocd-lua.ts';
import { fluxHealthOf, type HealthCheckExpressions } from './flux-health.ts';
import { kstatusOf } from './kstatus.ts';
import { CONTRACTS, PHASES, resourceIn, type KindName } from './status-fixtures.ts';

const KINDS: KindName[] = ['Deploy', 'Sweep'];
const ARGO_KEY = (kind: KindName) => `resource.customizations.health.operator.blackroad.io_${kind}`;
const kubectl = probeKubectl('GitOps health checks');

function argoScript(kind: KindName): string {
  const configMap = theOne(renderKustomization('manifests/gitops/argocd-health'), 'ConfigMap', 'argocd-cm') as Manifest & { data: Record<string, string> };
  const script = configMap.data[ARGO_KEY(kind)];
  if (script === undefined) throw new Error(`argocd-cm has no ${ARGO_KEY(kind)}`);
  return script;
}

function fluxExpressions(kind: KindName): HealthCheckExpressions {
  const kustomization = theOne(renderKustomization('manifests/gitops/flux'), 'Kustomization', 'blackroad-workloads') as Manifest & { spec: { healthCheckExprs: HealthCheckExpressions[] } };
  const found = kustomization.spec.healthCheckExprs.filter((entry) => entry.apiVersion === GROUP_VERSION && entry.kind === kind);
  if (found.length !== 1 || found[0] === undefined) throw new Error(`expected one healthCheckExprs entry for ${kind}, found ${found.length}`);
  return found[0];
}

/** The message the Argo CD script must show: the deciding condition's, with a Sweep's progress. */
function expectedMessage(kind: KindName, phase: string): string {
  const contract = CONTRACTS[kind][phase];
  const progress = kind === 'Sweep' ? (contract?.kstatus === 'InProgress' ? ' (1/3 units)' : ' (3/3 units)') : '';
  return `${contract?.message ?? ''}${progress}`;
}

describe('the phase contract (ADR 008)', () => {
  it('covers every phase of src/api, and only those', () => {
    expect(Object.keys(CONTRACTS.Deploy).sort()).toEqual([...DEPLOY_PHASES].sort());
    expect(Object.keys(CONTRACTS.Sweep).sort()).toEqual([...SWEEP_PHASES].sort());
  });

  it('never has Reconciling and Stalled True together, and Ready True only when neither is', () => {
    for (const kind of KINDS) {
      for (const [phase, contract] of Object.entries(CONTRACTS[kind])) {
        expect(contract.reconciling && contract.stalled, `${kind} ${phase}`).toBe(false);
        if (contract.ready === 'True') expect(contract.reconciling || contract.stalled, `${kind} ${phase}`).toBe(false);
      }
    }
  });

  it('is the table of docs/OPERATIONS.md', () => {
    const rows = [...section('Health of Deploys and Sweeps').matchAll(/^\| (Deploy|Sweep) \| ([^|]+) \| (\w+)[^|]* \| (\w+)[^|]* \| (\w+)[^|]* \| (\w+) \| ([^|]+) \|$/gm)];
    const documented = rows.flatMap(([, kind = '', phases = '', ready, reconciling, isStalled, argo, verdict = '']) =>
      phases.split(', ').map((phase) => ({ kind, phase: phase.trim(), ready, reconciling: reconciling === 'True', stalled: isStalled === 'True', argo, kstatus: verdict.trim() })),
    );
    const contracted = KINDS.flatMap((kind) =>
      Object.entries(CONTRACTS[kind]).map(([phase, contract]) => ({ kind, phase, ready: contract.ready, reconciling: contract.reconciling, stalled: contract.stalled, argo: contract.argo, kstatus: contract.kstatus })),
    );
    const order = (entry: { kind: string; phase: string }) => `${entry.kind}/${entry.phase}`;
    expect(documented.sort((a, b) => order(a).localeCompare(order(b)))).toEqual(contracted.sort((a, b) => order(a).localeCompare(order(b))));
  });
});

describe("Argo CD's Lua sandbox", () => {
  it('has the base and table libraries and no string library, as Argo CD gives argocd-cm scripts', () => {
    const resource = resourceIn('Deploy', 'Succeeded');
    expect(argoHealthOf('local t = {} table.insert(t, obj.kind) return {status = "Healthy", message = t[1] .. tostring(obj.metadata.generation)}', resource)).toEqual({
      status: 'Healthy',
      message: 'Deploy3',
    });
    expect(() => argoHealthOf('return {status = "Healthy", message = string.format("%d", 1)}', resource)).toThrow(/string/);
    expect(() => argoHealthOf('return {status = "Fine"}', resource)).toThrow(/Fine/);
  });
});

describe.skipIf(!kubectl.available)('GitOps health of Deploy and Sweep', () => {
  it('gives Argo CD one script for both kinds under the keys it looks up', () => {
    const configMap = theOne(renderKustomization('manifests/gitops/argocd-health'), 'ConfigMap', 'argocd-cm') as Manifest & { data: Record<string, string> };
    expect(configMap.metadata.namespace).toBe('argocd');
    expect(Object.keys(configMap.data).sort()).toEqual(KINDS.map(ARGO_KEY).sort());
    expect(argoScript('Deploy')).toBe(argoScript('Sweep'));
  });

  for (const kind of KINDS) {
    describe(kind, () => {
      for (const phase of PHASES[kind]) {
        const contract = CONTRACTS[kind][phase];
        for (const omitFalse of [false, true]) {
          const variant = omitFalse ? ', Reconciling and Stalled left out when False' : '';
          it(`${phase}${variant}: Argo CD ${contract?.argo}, Flux and kstatus ${contract?.kstatus}`, () => {
            const resource = resourceIn(kind, phase, { omitFalse });
            expect(argoHealthOf(argoScript(kind), resource)).toEqual({ status: contract?.argo, message: expectedMessage(kind, phase) });
            expect(fluxHealthOf(fluxExpressions(kind), resource)).toBe(contract?.kstatus);
            expect(kstatusOf(resource)).toBe(contract?.kstatus);
          });
        }

        it(`${phase} with an observedGeneration behind the generation: Progressing everywhere`, () => {
          const resource = resourceIn(kind, phase, { generation: 4, observedGeneration: 3 });
          expect(argoHealthOf(argoScript(kind), resource)).toEqual({ status: 'Progressing', message: 'Waiting for the operator to observe generation 4' });
          expect(fluxHealthOf(fluxExpressions(kind), resource)).toBe('InProgress');
          expect(kstatusOf(resource)).toBe('InProgress');
        });
      }

      it('ignores conditions written for an older generation (Argo CD and Flux)', () => {
        const resource = resourceIn(kind, 'Succeeded');
        const status = resource.status as { conditions: { observedGeneration: number }[] };
        for (const condition of status.conditions) condition.observedGeneration = 2;
        expect(argoHealthOf(argoScript(kind), resource).status).toBe('Progressing');
        expect(fluxHealthOf(fluxExpressions(kind), resource)).toBe('InProgress');
      });

      it('before the first status write: Argo CD Progressing, Flux keeps polling, plain kstatus says Current (the documented gap)', () => {
        const { status: _status, ...fresh } = resourceIn(kind, 'Pending');
        expect(argoHealthOf(argoScript(kind), fresh)).toEqual({ status: 'Progressing', message: `Waiting for the operator to observe this ${kind}` });
        expect(fluxHealthOf(fluxExpressions(kind), fresh)).toBe('Unknown');
        expect(kstatusOf(fresh)).toBe('Current');
      });

      it('treats a resource being deleted as Terminating (kstatus)', () => {
        const resource = resourceIn(kind, 'Succeeded');
        expect(kstatusOf({ ...resource, metadata: { ...resource.metadata, deletionTimestamp: '2026-11-27T12:30:00Z' } })).toBe('Terminating');
      });
    });
  }
});
