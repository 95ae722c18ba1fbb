// Shared pieces of the event tests: a captured logger, a registry read through the Prometheus parser, a Deploy reference.
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/observability/logger.ts';
import type { Registry } from '../../src/observability/metrics.ts';
import type { SecretMask } from '../../src/observability/redact.ts';
import type { ResourceRef } from '../../src/events/resource-ref.ts';
import { parsePrometheusText, sampleValue } from '../support/prometheus-text.ts';

export const CANARY = 'canary-5d1e8b2a-do-not-leak';

export interface CapturedLogger {
  readonly logger: Logger;
  /** Every line written so far, parsed. */
  records(): Record<string, unknown>[];
  text(): string;
}

export function captureLogger(secretMask?: SecretMask): CapturedLogger {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(...chunk.toString('utf8').split('\n').filter((line) => line !== ''));
      callback();
    },
  });
  const logger = createLogger({ level: 'debug', destination, ...(secretMask === undefined ? {} : { secretMask }) });
  return {
    logger,
    records: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
    text: () => lines.join('\n'),
  };
}

/** The value of one sample of the registry's exposition, parsed strictly; 0 when the labelled series does not exist yet. */
export async function metricValue(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const families = parsePrometheusText(await registry.metrics());
  try {
    return sampleValue(families, name, labels);
  } catch (error) {
    const family = [...families.values()].find((f) => f.samples.some((s) => s.name === name) || f.name === name);
    if (family !== undefined && !family.samples.some((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))) return 0;
    throw error;
  }
}

export function deployRef(name = 'api', namespace = 'prod'): ResourceRef {
  return { apiVersion: 'operator.blackroad.io/v1alpha1', kind: 'Deploy', resource: 'deploys', namespace, name, uid: `uid-${namespace}-${name}` };
}

export function sweepRef(name = 'nightly', namespace = 'quality'): ResourceRef {
  return { apiVersion: 'operator.blackroad.io/v1alpha1', kind: 'Sweep', resource: 'sweeps', namespace, name, uid: `uid-${namespace}-${name}` };
}

/** Lets queued microtasks and promise callbacks (the sink loops) run. */
export async function settle(rounds = 5): Promise<void> {
  for (let round = 0; round < rounds; round += 1) await new Promise<void>((resolve) => setImmediate(resolve));
}
