// The kubeconfig that points kubectl and clients at a devcluster.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { stringify } from 'yaml';

export interface KubeconfigSettings {
  readonly server: string;
  /** PEM certificate of the server's authority (written as certificate-authority-data). */
  readonly certificateAuthority?: string;
  /** A bearer token for the user entry; none means anonymous. */
  readonly token?: string;
  readonly namespace?: string;
  readonly name?: string;
}

/** The kubeconfig YAML for one cluster, user and context, all named `devcluster` by default. */
export function kubeconfigYaml(settings: KubeconfigSettings): string {
  const name = settings.name ?? 'devcluster';
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    // client-node refuses plain http unless TLS verification is marked skipped; there is no TLS to verify.
    clusters: [
      {
        name,
        cluster: {
          server: settings.server,
          ...(settings.certificateAuthority === undefined ? {} : { 'certificate-authority-data': Buffer.from(settings.certificateAuthority).toString('base64') }),
          ...(settings.server.startsWith('http:') ? { 'insecure-skip-tls-verify': true } : {}),
        },
      },
    ],
    users: [{ name, user: settings.token === undefined ? {} : { token: settings.token } }],
    contexts: [{ name, context: { cluster: name, user: name, ...(settings.namespace === undefined ? {} : { namespace: settings.namespace }) } }],
    'current-context': name,
    preferences: {},
  });
}

/** Writes the kubeconfig (mode 0600, parent folders created). */
export function writeKubeconfig(path: string, settings: KubeconfigSettings): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, kubeconfigYaml(settings), { mode: 0o600 });
}
