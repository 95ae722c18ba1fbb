// Reads the recorded kube-apiserver exchanges (tests/fixtures/kube-apiserver-transcripts/http) and masks what differs per run.
import { readdirSync, readFileSync } from 'node:fs';
import { expect } from 'vitest';
import type { ClusterHarness, RawResponse } from '../support/cluster.ts';

export interface Transcript {
  readonly title: string;
  readonly request: { readonly method: string; readonly path: string; readonly headers: Record<string, string>; readonly body: unknown };
  readonly response: { readonly status: number; readonly headers: Record<string, string | string[]>; readonly body: unknown };
}

const ROOT = new URL('../fixtures/kube-apiserver-transcripts/http/', import.meta.url);

/** Loads `http/<prefix>-*.json` by its number, e.g. `transcript('16')`. */
export function transcript(number: string): Transcript {
  const name = readdirSync(ROOT).find((file) => file.startsWith(`${number}-`));
  if (name === undefined) throw new Error(`no transcript ${number}`);
  return JSON.parse(readFileSync(new URL(name, ROOT), 'utf8')) as Transcript;
}

const VOLATILE = new Set(['uid', 'resourceVersion', 'creationTimestamp', 'deletionTimestamp', 'managedFields', 'lastTransitionTime', 'generateName']);

/**
 * A copy of an object without what differs between runs and servers: uids, resourceVersions, timestamps,
 * managedFields; the recorded namespace `transcripts` is replaced by `namespace`.
 */
export function masked(value: unknown, namespace = 'transcripts'): unknown {
  if (Array.isArray(value)) return value.map((item) => masked(item, namespace));
  if (typeof value === 'string') return value === namespace ? '<ns>' : value.replaceAll(`namespace "${namespace}"`, 'namespace "<ns>"');
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (VOLATILE.has(key)) continue;
    out[key] = masked(item, namespace);
  }
  return out;
}

/** Replays recorded requests in a suite's namespace and compares answers with the recorded ones, masked. */
export function replayer(cluster: () => ClusterHarness): { replay(number: string): Promise<RawResponse>; expectLike(actual: unknown, number: string): void } {
  return {
    replay(number: string): Promise<RawResponse> {
      const recorded = transcript(number);
      const namespace = cluster().namespace;
      const path = recorded.request.path.replace('/namespaces/transcripts', `/namespaces/${namespace}`);
      const body = recorded.request.body;
      return cluster().request(recorded.request.method, path, {
        ...(body === null ? {} : { body: typeof body === 'string' ? body : (JSON.parse(JSON.stringify(body).replaceAll('"transcripts"', JSON.stringify(namespace))) as unknown) }),
        ...(recorded.request.headers['Content-Type'] === undefined ? {} : { contentType: recorded.request.headers['Content-Type'] }),
        headers: { accept: recorded.request.headers['Accept'] ?? 'application/json' },
      });
    },
    expectLike(actual: unknown, number: string): void {
      expect(masked(actual, cluster().namespace)).toEqual(masked(transcript(number).response.body));
    },
  };
}
