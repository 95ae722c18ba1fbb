// The operator's configuration: one zod schema over flags and environment, parsed once at start-up.
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { z } from 'zod';

/** A listen address: `:8080`, `127.0.0.1:8080`, `[::1]:8080`; port 0 picks a free port. `null` turns the listener off. */
export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function listenAddress(allowed: string) {
  return z.string().transform((raw, ctx): ListenAddress | null => {
    if (raw === '0' || raw === 'off') return null;
    const match = /^(?:(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]*))?:(\d{1,5})$/.exec(raw);
    const port = match ? Number(match[2]) : NaN;
    if (!match || port > 65535) {
      ctx.addIssue({ code: 'custom', message: allowed });
      return z.NEVER;
    }
    const host = (match[1] ?? '').replace(/^\[|\]$/g, '');
    return { host: host === '' ? '0.0.0.0' : host, port };
  });
}

function boolean() {
  return z.string().transform((raw, ctx) => {
    const lowered = raw.toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(lowered)) return true;
    if (['false', '0', 'no', 'off'].includes(lowered)) return false;
    ctx.addIssue({ code: 'custom', message: 'true or false' });
    return z.NEVER;
  });
}

function integer(min: number, max: number) {
  return z
    .string()
    .regex(/^\d+$/, `a whole number from ${min} to ${max}`)
    .transform(Number)
    .pipe(z.number().int().min(min, `a whole number from ${min} to ${max}`).max(max, `a whole number from ${min} to ${max}`));
}

/**
 * One entry per setting: where it comes from (environment variable, flag), what it means, its default,
 * what values are allowed, and the zod schema that turns the raw string into the typed value.
 */
interface OptionSpec {
  readonly env: string;
  readonly flag: string;
  readonly description: string;
  readonly default?: string;
  readonly allowed: string;
  /** The value may carry a credential (a password in a URL): never echo it back. */
  readonly secret?: boolean;
  readonly schema: z.ZodType;
}

export const OPTIONS = {
  kubeconfig: {
    env: 'KUBECONFIG',
    flag: 'kubeconfig',
    description: 'Path to a kubeconfig; unset means in-cluster configuration, then ~/.kube/config.',
    allowed: 'a file path',
    schema: z.string().min(1, 'a file path'),
  },
  redisUrl: {
    env: 'REDIS_URL',
    flag: 'redis-url',
    description: 'Redis for idempotency keys, the domain event stream and audit records; unset keeps them in memory (one replica only).',
    allowed: 'a redis:// or rediss:// URL',
    secret: true,
    schema: z.string().refine((raw) => {
      try {
        return ['redis:', 'rediss:'].includes(new URL(raw).protocol);
      } catch {
        return false;
      }
    }, 'a redis:// or rediss:// URL'),
  },
  redisKeyPrefix: {
    env: 'REDIS_KEY_PREFIX',
    flag: 'redis-key-prefix',
    description: 'Prefix of every Redis key the operator writes.',
    default: 'blackroad:',
    allowed: '1 to 64 characters without spaces',
    schema: z.string().regex(/^\S{1,64}$/, '1 to 64 characters without spaces'),
  },
  logLevel: {
    env: 'LOG_LEVEL',
    flag: 'log-level',
    description: 'Minimum level of the JSON logs.',
    default: 'info',
    allowed: `one of ${LOG_LEVELS.join(', ')}`,
    schema: z.enum(LOG_LEVELS, `one of ${LOG_LEVELS.join(', ')}`),
  },
  watchNamespace: {
    env: 'WATCH_NAMESPACE',
    flag: 'watch-namespace',
    description: 'Namespace whose Deploys and Sweeps are reconciled; empty watches all namespaces.',
    default: '',
    allowed: 'empty or a DNS-1123 label',
    schema: z.string().refine((raw) => raw === '' || (raw.length <= 63 && DNS1123_LABEL.test(raw)), 'empty or a DNS-1123 label'),
  },
  metricsAddr: {
    env: 'METRICS_BIND_ADDRESS',
    flag: 'metrics-bind-address',
    description: 'Where /metrics is served; 0 turns it off.',
    default: ':8080',
    allowed: 'HOST:PORT, :PORT, or 0 to turn it off',
    schema: listenAddress('HOST:PORT, :PORT, or 0 to turn it off'),
  },
  metricsSecure: {
    env: 'METRICS_SECURE',
    flag: 'metrics-secure',
    description:
      "Serve /metrics over HTTPS to callers whose bearer token passes a TokenReview and a SubjectAccessReview for GET /metrics, as controller-runtime's secure metrics do (needs the prod overlay's metrics-auth ClusterRole).",
    default: 'false',
    allowed: 'true or false',
    schema: boolean(),
  },
  metricsCertDir: {
    env: 'METRICS_CERT_DIR',
    flag: 'metrics-cert-dir',
    description: 'Folder holding tls.crt and tls.key for secure metrics; unset means a self-signed certificate made at start-up.',
    allowed: 'a folder path',
    schema: z.string().min(1, 'a folder path'),
  },
  probeAddr: {
    env: 'HEALTH_PROBE_BIND_ADDRESS',
    flag: 'health-probe-bind-address',
    description: 'Where /healthz, /readyz and the admin endpoints are served; 0 turns it off.',
    default: ':8081',
    allowed: 'HOST:PORT, :PORT, or 0 to turn it off',
    schema: listenAddress('HOST:PORT, :PORT, or 0 to turn it off'),
  },
  leaderElect: {
    env: 'LEADER_ELECT',
    flag: 'leader-elect',
    description: 'Take a coordination.k8s.io Lease before reconciling, so several replicas can run safely.',
    default: 'true',
    allowed: 'true or false',
    schema: boolean(),
  },
  leaderElectionNamespace: {
    env: 'LEADER_ELECTION_NAMESPACE',
    flag: 'leader-election-namespace',
    description: "Namespace of the leader-election Lease; empty means the pod's own namespace, else blackroad-system.",
    default: '',
    allowed: 'empty or a DNS-1123 label',
    schema: z.string().refine((raw) => raw === '' || (raw.length <= 63 && DNS1123_LABEL.test(raw)), 'empty or a DNS-1123 label'),
  },
  leaderElectionId: {
    env: 'LEADER_ELECTION_ID',
    flag: 'leader-election-id',
    description: 'Name of the leader-election Lease.',
    default: 'blackroad-os-operator',
    allowed: 'a DNS-1123 subdomain',
    schema: z.string().max(253, 'a DNS-1123 subdomain').regex(DNS1123_SUBDOMAIN, 'a DNS-1123 subdomain'),
  },
  identity: {
    env: 'POD_NAME',
    flag: 'identity',
    description: 'This replica’s identity in the Lease; defaults to the host name.',
    allowed: '1 to 128 characters without spaces',
    schema: z.string().regex(/^\S{1,128}$/, '1 to 128 characters without spaces'),
  },
  deployConcurrency: {
    env: 'DEPLOY_CONCURRENCY',
    flag: 'deploy-concurrency',
    description: 'Deploys reconciled at once (workers of the Deploy controller).',
    default: '4',
    allowed: 'a whole number from 1 to 256',
    schema: integer(1, 256),
  },
  sweepConcurrency: {
    env: 'SWEEP_CONCURRENCY',
    flag: 'sweep-concurrency',
    description: 'Sweeps reconciled at once (workers of the Sweep controller).',
    default: '4',
    allowed: 'a whole number from 1 to 256',
    schema: integer(1, 256),
  },
  syncPeriodSeconds: {
    env: 'SYNC_PERIOD_SECONDS',
    flag: 'sync-period-seconds',
    description: 'Every object is reconciled again at least this often, even without changes.',
    default: '36000',
    allowed: 'a whole number from 60 to 604800',
    schema: integer(60, 604800),
  },
  shutdownTimeoutSeconds: {
    env: 'SHUTDOWN_TIMEOUT_SECONDS',
    flag: 'shutdown-timeout-seconds',
    description: 'How long in-flight reconciles may finish after SIGTERM before the process exits.',
    default: '30',
    allowed: 'a whole number from 0 to 600',
    schema: integer(0, 600),
  },
  agentCatalog: {
    env: 'AGENT_CATALOG',
    flag: 'agent-catalog',
    description: 'Path of the agent catalog (YAML).',
    default: 'agent-catalog/agents.yaml',
    allowed: 'a file path',
    schema: z.string().min(1, 'a file path'),
  },
} as const satisfies Record<string, OptionSpec>;

type Options = typeof OPTIONS;
type OptionKey = keyof Options;
type Output<K extends OptionKey> = z.output<Options[K]['schema']>;

/** The validated configuration, created once in the composition root and handed down. */
export type Config = {
  readonly [K in OptionKey]: Options[K] extends { default: string } ? Output<K> : Output<K> | undefined;
} & { readonly identity: string };

/** Bad configuration: names the key, the bad value and what is allowed. The process exits 2 with `message`. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly key: string;

  constructor(key: string, message: string) {
    super(message);
    this.key = key;
  }
}

export function isConfigError(error: unknown): error is ConfigError {
  return error instanceof ConfigError;
}

const schema = z.object(
  Object.fromEntries(
    Object.entries(OPTIONS).map(([key, option]) => {
      const spec: OptionSpec = option;
      return [key, spec.default === undefined ? spec.schema.optional() : spec.schema.prefault(spec.default as never)];
    }),
  ),
);

function describeValue(option: OptionSpec, raw: unknown): string {
  if (option.secret === true && typeof raw === 'string') {
    try {
      const url = new URL(raw);
      if (url.password !== '') url.password = 'REDACTED';
      if (url.username !== '') url.username = 'REDACTED';
      return JSON.stringify(url.toString());
    } catch {
      return '(value hidden: it may hold a credential)';
    }
  }
  return JSON.stringify(raw);
}

/**
 * Reads the configuration from flags (`--log-level=debug` or `--log-level debug`) and environment; flags win.
 * Empty environment variables count as unset.
 *
 * Errors: throws {@link ConfigError} for an unknown flag or the first invalid value, with a one-line message.
 */
export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv): Config {
  const flagOptions = Object.fromEntries(Object.values(OPTIONS).map((option) => [option.flag, { type: 'string' as const }]));
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: [...argv], options: flagOptions, strict: true, allowPositionals: false }));
  } catch (error) {
    const detail = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new ConfigError('flags', `invalid configuration: ${detail}; run with --help for the list of flags`);
  }

  const raw: Record<string, string | undefined> = {};
  const source: Record<string, string> = {};
  for (const [key, option] of Object.entries(OPTIONS)) {
    const fromFlag = values[option.flag];
    const fromEnv = env[option.env];
    if (typeof fromFlag === 'string') {
      raw[key] = fromFlag;
      source[key] = `--${option.flag}`;
    } else if (fromEnv !== undefined && fromEnv !== '') {
      raw[key] = fromEnv;
      source[key] = option.env;
    }
  }

  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = String(issue?.path[0] ?? 'unknown');
    const option: OptionSpec = OPTIONS[key as OptionKey];
    const name = source[key] ?? option.env;
    throw new ConfigError(name, `invalid configuration: ${name}=${describeValue(option, raw[key])} is not allowed; expected ${option.allowed}`);
  }
  const config = parsed.data as Omit<Config, 'identity'> & { identity?: string };
  return { ...config, identity: config.identity ?? `${hostname()}-${process.pid}` } as Config;
}

/** The `--help` text of the settings: flag, environment variable, default and meaning. */
export function describeOptions(): string {
  return Object.values(OPTIONS)
    .map((option: OptionSpec) => {
      const fallback = option.default === undefined ? '' : ` (default ${JSON.stringify(option.default)})`;
      return `  --${option.flag}  [${option.env}]${fallback}\n      ${option.description}`;
    })
    .join('\n');
}

/** Where the API server is reached from inside a pod (`KUBERNETES_SERVICE_HOST` and `_PORT`), or undefined outside one. */
export function kubernetesServiceAddress(env: NodeJS.ProcessEnv): { readonly host: string; readonly port: string } | undefined {
  const host = env['KUBERNETES_SERVICE_HOST'];
  const port = env['KUBERNETES_SERVICE_PORT'];
  return host === undefined || host === '' || port === undefined || port === '' ? undefined : { host, port };
}
