// Valid Deploy and Sweep specs the API tests start from and break one field at a time.
import { GROUP_VERSION } from '../../src/api/group-version.ts';

export function kubernetesDeploySpec(): Record<string, unknown> {
  return {
    service: 'api',
    version: '1.42.0',
    provider: { kubernetes: { deployment: 'api', container: 'api', image: 'ghcr.io/acme/api:1.42.0' } },
    healthCheck: { url: 'http://api.prod.svc/healthz' },
  };
}

export function sweepSpec(): Record<string, unknown> {
  return {
    repositories: [
      { name: 'api', url: 'https://github.com/acme/api', ref: 'main' },
      { name: 'web', url: 'https://github.com/acme/web' },
    ],
    checks: [
      { name: 'lint', runner: 'job', image: 'node:24', command: ['npm'], args: ['run', 'lint'], annotations: { 'devcluster.blackroad.io/outcome': 'succeed' } },
      { name: 'merge-ready', runner: 'http', url: 'https://checker.example/merge-ready', secretRef: { name: 'checker', key: 'hmac' }, timeoutSeconds: 60 },
    ],
  };
}

export function object(kind: 'Deploy' | 'Sweep', spec: unknown, name = 'example'): Record<string, unknown> {
  return { apiVersion: GROUP_VERSION, kind, metadata: { name, namespace: 'default' }, spec };
}
