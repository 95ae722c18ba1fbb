// Reads kubeconfig files and the in-cluster service account into the cluster, user and namespace the client uses.
//
// Field names follow client-node's `Cluster` and `User`, so its exec and auth-provider authenticators accept
// them. client-node itself is loaded only for what it alone implements (exec plugins, auth providers): its
// package entry point costs about 80 MiB of resident memory, more than the whole cache of 10,000 objects.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { parse } from 'yaml';
import { KubeConfigError } from './errors.ts';

export interface ClusterConfig {
  readonly name: string;
  readonly server: string;
  /** Base64 PEM. */
  readonly caData?: string;
  readonly caFile?: string;
  readonly skipTLSVerify: boolean;
  readonly tlsServerName?: string;
  readonly proxyUrl?: string;
}

export interface UserConfig {
  readonly name: string;
  /** Base64 PEM. */
  readonly certData?: string;
  readonly certFile?: string;
  /** Base64 PEM. */
  readonly keyData?: string;
  readonly keyFile?: string;
  readonly token?: string;
  /** Read again now and then: projected service-account tokens rotate. */
  readonly tokenFile?: string;
  readonly username?: string;
  readonly password?: string;
  readonly impersonateUser?: string;
  /** `users[].user.exec` as written (command, args, env, apiVersion, ...). */
  readonly exec?: Readonly<Record<string, unknown>>;
  /** `users[].user.auth-provider` as written (oidc, azure, gcp). */
  readonly authProvider?: Readonly<Record<string, unknown>>;
}

/** The current context of a kubeconfig, resolved. */
export interface KubeContextConfig {
  readonly cluster: ClusterConfig;
  readonly user: UserConfig;
  /** The context's namespace (in-cluster: the pod's). */
  readonly namespace?: string;
}

type Entry = Record<string, unknown>;

function named(list: unknown, field: string, name: string, path: string): Entry {
  const entries = Array.isArray(list) ? (list as Entry[]) : [];
  const found = entries.find((entry) => entry['name'] === name);
  const value = found?.[field];
  if (typeof value !== 'object' || value === null) throw new KubeConfigError(`${path}: no ${field} named "${name}"`);
  return value as Entry;
}

function text(entry: Entry, key: string): string | undefined {
  const value = entry[key];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/**
 * The context `contextName` (default: `current-context`) of the kubeconfig at `path`. Relative file paths in
 * it are relative to the file, as kubectl reads them.
 */
export function readKubeConfig(path: string, contextName?: string): KubeContextConfig {
  let document: Entry;
  try {
    document = parse(readFileSync(path, 'utf8')) as Entry;
  } catch (error) {
    throw new KubeConfigError(`${path}: cannot read the kubeconfig`, { cause: error });
  }
  if (typeof document !== 'object' || document === null) throw new KubeConfigError(`${path}: not a kubeconfig`);
  const name = contextName ?? text(document, 'current-context');
  if (name === undefined) throw new KubeConfigError(`${path}: no current-context`);
  const context = named(document['contexts'], 'context', name, path);
  const clusterName = text(context, 'cluster') ?? '';
  const userName = text(context, 'user') ?? '';
  const cluster = named(document['clusters'], 'cluster', clusterName, path);
  const user = userName === '' ? {} : named(document['users'], 'user', userName, path);
  const resolve = (file: string | undefined): string | undefined => (file === undefined || isAbsolute(file) ? file : join(dirname(path), file));
  const server = text(cluster, 'server');
  if (server === undefined) throw new KubeConfigError(`${path}: cluster "${clusterName}" has no server`);
  return {
    cluster: {
      name: clusterName,
      server: server.replace(/\/$/, ''),
      skipTLSVerify: cluster['insecure-skip-tls-verify'] === true,
      ...optional('caData', text(cluster, 'certificate-authority-data')),
      ...optional('caFile', resolve(text(cluster, 'certificate-authority'))),
      ...optional('tlsServerName', text(cluster, 'tls-server-name')),
      ...optional('proxyUrl', text(cluster, 'proxy-url')),
    },
    user: {
      name: userName,
      ...optional('certData', text(user, 'client-certificate-data')),
      ...optional('certFile', resolve(text(user, 'client-certificate'))),
      ...optional('keyData', text(user, 'client-key-data')),
      ...optional('keyFile', resolve(text(user, 'client-key'))),
      ...optional('token', text(user, 'token')),
      ...optional('tokenFile', resolve(text(user, 'tokenFile'))),
      ...optional('username', text(user, 'username')),
      ...optional('password', text(user, 'password')),
      ...optional('impersonateUser', text(user, 'as')),
      ...optional('exec', typeof user['exec'] === 'object' && user['exec'] !== null ? (user['exec'] as Entry) : undefined),
      ...optional('authProvider', typeof user['auth-provider'] === 'object' && user['auth-provider'] !== null ? (user['auth-provider'] as Entry) : undefined),
    },
    ...optional('namespace', text(context, 'namespace')),
  };
}

export interface InClusterSettings {
  /** `KUBERNETES_SERVICE_HOST`, read by the configuration layer. */
  readonly host: string;
  /** `KUBERNETES_SERVICE_PORT`. */
  readonly port: string | number;
  /** Where the service account is mounted. */
  readonly root?: string;
}

/** The pod's service account: its token (re-read as it rotates), the cluster CA and the pod's namespace. */
export function inClusterConfig(settings: InClusterSettings): KubeContextConfig {
  const root = settings.root ?? '/var/run/secrets/kubernetes.io/serviceaccount';
  const host = settings.host.includes(':') && !settings.host.startsWith('[') ? `[${settings.host}]` : settings.host;
  let namespace: string | undefined;
  try {
    namespace = readFileSync(join(root, 'namespace'), 'utf8').trim();
  } catch {
    namespace = undefined;
  }
  return {
    cluster: { name: 'in-cluster', server: `https://${host}:${settings.port}`, caFile: join(root, 'ca.crt'), skipTLSVerify: false },
    user: { name: 'service-account', tokenFile: join(root, 'token') },
    ...optional('namespace', namespace === '' ? undefined : namespace),
  };
}
