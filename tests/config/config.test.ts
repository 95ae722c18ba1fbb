import { describe, expect, it } from 'vitest';
import { isConfigError, loadConfig, OPTIONS } from '../../src/config/config.ts';
import { runCli } from '../../src/cli/cli.ts';
import type { Command } from '../../src/cli/command.ts';
import { captureIo } from '../support/io.ts';

function errorOf(argv: string[], env: Record<string, string>): string {
  try {
    loadConfig(argv, env);
  } catch (error) {
    if (isConfigError(error)) return error.message;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('applies the documented defaults when nothing is set', () => {
    const config = loadConfig([], {});
    expect(config).toMatchObject({
      redisKeyPrefix: 'blackroad:',
      logLevel: 'info',
      watchNamespace: '',
      metricsAddr: { host: '0.0.0.0', port: 8080 },
      metricsSecure: false,
      probeAddr: { host: '0.0.0.0', port: 8081 },
      leaderElect: true,
      leaderElectionNamespace: '',
      leaderElectionId: 'blackroad-os-operator',
      deployConcurrency: 4,
      sweepConcurrency: 4,
      syncPeriodSeconds: 36000,
      shutdownTimeoutSeconds: 30,
      agentCatalog: 'agent-catalog/agents.yaml',
    });
    expect(config.kubeconfig).toBeUndefined();
    expect(config.redisUrl).toBeUndefined();
    expect(config.metricsCertDir).toBeUndefined();
    expect(config.identity).toMatch(/\S+/);
  });

  it('lets a flag win over the environment, in both flag spellings', () => {
    expect(loadConfig(['--log-level=debug'], { LOG_LEVEL: 'warn' }).logLevel).toBe('debug');
    expect(loadConfig(['--log-level', 'trace'], { LOG_LEVEL: 'warn' }).logLevel).toBe('trace');
    expect(loadConfig([], { LOG_LEVEL: 'warn' }).logLevel).toBe('warn');
  });

  it('treats an empty environment variable as unset', () => {
    expect(loadConfig([], { LOG_LEVEL: '' }).logLevel).toBe('info');
  });

  const valid: Record<keyof typeof OPTIONS, [string, unknown][]> = {
    kubeconfig: [['/tmp/kubeconfig', '/tmp/kubeconfig']],
    redisUrl: [
      ['redis://127.0.0.1:6379', 'redis://127.0.0.1:6379'],
      ['rediss://user:pw@redis.example:6380/2', 'rediss://user:pw@redis.example:6380/2'],
    ],
    redisKeyPrefix: [['ops:', 'ops:']],
    logLevel: [
      ['fatal', 'fatal'],
      ['silent', 'silent'],
    ],
    watchNamespace: [
      ['team-a', 'team-a'],
      ['', ''],
    ],
    metricsAddr: [
      [':9090', { host: '0.0.0.0', port: 9090 }],
      ['127.0.0.1:0', { host: '127.0.0.1', port: 0 }],
      ['[::1]:9090', { host: '::1', port: 9090 }],
      ['0', null],
    ],
    metricsSecure: [
      ['true', true],
      ['off', false],
    ],
    metricsCertDir: [['/etc/blackroad/metrics-tls', '/etc/blackroad/metrics-tls']],
    probeAddr: [
      [':9091', { host: '0.0.0.0', port: 9091 }],
      ['off', null],
    ],
    leaderElect: [
      ['false', false],
      ['TRUE', true],
      ['0', false],
    ],
    leaderElectionNamespace: [['blackroad-system', 'blackroad-system']],
    leaderElectionId: [['ops.blackroad.io', 'ops.blackroad.io']],
    identity: [['operator-7d9f-abc', 'operator-7d9f-abc']],
    deployConcurrency: [
      ['1', 1],
      ['256', 256],
    ],
    sweepConcurrency: [['16', 16]],
    syncPeriodSeconds: [['60', 60]],
    shutdownTimeoutSeconds: [['0', 0]],
    agentCatalog: [['/etc/agents.yaml', '/etc/agents.yaml']],
  };

  const invalid: Record<keyof typeof OPTIONS, [string, string][]> = {
    kubeconfig: [],
    redisUrl: [
      ['http://cache:6379', 'a redis:// or rediss:// URL'],
      ['not a url', 'a redis:// or rediss:// URL'],
    ],
    redisKeyPrefix: [['has space', '1 to 64 characters without spaces']],
    logLevel: [['loud', 'one of fatal, error, warn, info, debug, trace, silent']],
    watchNamespace: [['Team_A', 'empty or a DNS-1123 label']],
    metricsAddr: [
      ['8080', 'HOST:PORT, :PORT, or 0 to turn it off'],
      [':99999', 'HOST:PORT, :PORT, or 0 to turn it off'],
    ],
    metricsSecure: [['sometimes', 'true or false']],
    metricsCertDir: [],
    probeAddr: [['localhost', 'HOST:PORT, :PORT, or 0 to turn it off']],
    leaderElect: [['maybe', 'true or false']],
    leaderElectionNamespace: [['-bad-', 'empty or a DNS-1123 label']],
    leaderElectionId: [['Bad_Name', 'a DNS-1123 subdomain']],
    identity: [['two words', '1 to 128 characters without spaces']],
    deployConcurrency: [
      ['0', 'a whole number from 1 to 256'],
      ['1.5', 'a whole number from 1 to 256'],
      ['257', 'a whole number from 1 to 256'],
    ],
    sweepConcurrency: [['-1', 'a whole number from 1 to 256']],
    syncPeriodSeconds: [['59', 'a whole number from 60 to 604800']],
    shutdownTimeoutSeconds: [['601', 'a whole number from 0 to 600']],
    agentCatalog: [],
  };

  for (const [key, option] of Object.entries(OPTIONS) as [keyof typeof OPTIONS, (typeof OPTIONS)[keyof typeof OPTIONS]][]) {
    for (const [raw, expected] of valid[key]) {
      it(`accepts ${option.env}=${JSON.stringify(raw)} and --${option.flag}`, () => {
        expect(loadConfig([], { [option.env]: raw })[key]).toEqual(expected);
        expect(loadConfig([`--${option.flag}=${raw}`], {})[key]).toEqual(expected);
      });
    }
    for (const [raw, allowed] of invalid[key]) {
      it(`rejects ${option.env}=${JSON.stringify(raw)} naming the key, the value and what is allowed`, () => {
        const fromEnv = errorOf([], { [option.env]: raw });
        expect(fromEnv.split('\n')).toHaveLength(1);
        expect(fromEnv).toContain(`${option.env}=`);
        expect(fromEnv).toContain(`expected ${allowed}`);
        const fromFlag = errorOf([`--${option.flag}=${raw}`], {});
        expect(fromFlag).toContain(`--${option.flag}=`);
        if (!('secret' in option)) expect(fromFlag).toContain(JSON.stringify(raw));
      });
    }
  }

  it('never echoes a password in a rejected Redis URL', () => {
    const message = errorOf([], { REDIS_URL: 'http://admin:hunter2-canary@cache:6379' });
    expect(message).not.toContain('hunter2-canary');
    expect(message).toContain('REDIS_URL=');
  });

  it('rejects an unknown flag with a pointer to --help', () => {
    expect(errorOf(['--no-such-flag'], {})).toMatch(/--no-such-flag.*--help/);
  });
});

describe('invalid configuration at the command line', () => {
  const probe: Command = {
    name: 'probe',
    summary: 'loads the configuration',
    help: () => 'probe\n',
    run: async (args, io) => {
      loadConfig(args, io.env);
      return 0;
    },
  };

  it('stops with exit code 2 and exactly one line naming the key, value and allowed values', async () => {
    const io = captureIo({ DEPLOY_CONCURRENCY: 'lots' });
    const code = await runCli(['probe'], io, [probe]);
    expect(code).toBe(2);
    expect(io.stdoutText()).toBe('');
    expect(io.stderrText()).toBe('invalid configuration: DEPLOY_CONCURRENCY="lots" is not allowed; expected a whole number from 1 to 256\n');
  });

  it('runs the command when the configuration is valid', async () => {
    const io = captureIo({ DEPLOY_CONCURRENCY: '3' });
    expect(await runCli(['probe'], io, [probe])).toBe(0);
    expect(io.stderrText()).toBe('');
  });
});
