// The dependency audit: real `npm audit` runs against a local registry that answers as the real one can (a report
// with or without high advisories, the 405 this machine's network gives, a closed port), and is judged right each
// time. With NPM_AUDIT=1 it also audits the production dependencies against the configured registry.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditDependencies, judgeAudit, verdictLine } from '../../scripts/audit-dependencies.ts';
import { REPO_ROOT } from '../support/kustomize.ts';

type Answer = 'high-advisory' | 'moderate-advisory' | 'method-not-allowed';

/** The package names the fake registry was asked about. */
const asked: string[][] = [];
let registry: Server;
let registryUrl = '';

// npm caches what it computes per advisory id, so each severity has an id of its own.
const advisory = (severity: string, id: number) => ({ yaml: [{ id, url: `https://advisories.example/${id}`, title: `Uncontrolled recursion (${severity})`, severity, vulnerable_versions: '<99.0.0', cwe: ['CWE-674'], cvss: { score: 7.5, vectorString: null } }] });

beforeAll(async () => {
  cache = mkdtempSync(join(tmpdir(), 'npm-audit-cache-'));
  registry = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      // The registry URL's first path segment says how to answer (npm caches answers by URL and body).
      const [, answer, path] = /^\/([^/]+)(\/.*)$/.exec(req.url ?? '') ?? [];
      if (req.method === 'POST' && path === '/-/npm/v1/security/advisories/bulk') {
        const body = Buffer.concat(chunks);
        asked.push(Object.keys(JSON.parse((req.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body).toString('utf8')) as object));
        if (answer === 'method-not-allowed') return void res.writeHead(405, { allow: 'GET,HEAD' }).end();
        const advisories = answer === 'high-advisory' ? advisory('high', 1002) : answer === 'moderate-advisory' ? advisory('moderate', 1001) : {};
        return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(advisories));
      }
      // Packuments npm reads to tell whether a fix exists: none here.
      res.writeHead(404, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => registry.listen(0, '127.0.0.1', resolve));
  registryUrl = `http://127.0.0.1:${(registry.address() as AddressInfo).port}/`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => registry.close(() => resolve()));
  rmSync(cache, { recursive: true, force: true });
});

/** A cache of its own, so that nothing npm keeps from these fake answers reaches the user's cache, or comes from it. */
let cache = '';
const audit = (answer: Answer | URL) => auditDependencies(REPO_ROOT, ['--registry', answer instanceof URL ? answer.href : `${registryUrl}${answer}/`, '--fetch-retries=0', '--cache', cache]);

describe('npm audit, judged', () => {
  it('passes a report without high or critical advisories, counting the lower ones, after asking about the production dependencies', async () => {
    const verdict = await audit('moderate-advisory');
    expect(verdict).toMatchObject({ outcome: 'passed', counts: { moderate: 1, high: 0, critical: 0 } });
    expect(verdictLine(verdict)).toMatch(/^PASSED npm audit --omit=dev: no high or critical advisory in the production dependencies \(1 moderate/);
    expect(asked.at(-1)).toEqual(expect.arrayContaining(['yaml', 'zod', 'ioredis', 'pino', 'prom-client']));
  }, 60_000);

  it('fails a report with a high advisory, naming the package, the advisory and its URL', async () => {
    const verdict = await audit('high-advisory');
    expect(verdict.outcome).toBe('failed');
    expect(verdict.outcome === 'failed' ? verdict.findings : []).toEqual([{ name: 'yaml', severity: 'high', advisories: ['Uncontrolled recursion (high) (https://advisories.example/1002)'] }]);
    expect(verdictLine(verdict)).toMatch(/^FAILED npm audit --omit=dev: 0 critical and 1 high advisories .*yaml \[high\]/);
  }, 60_000);

  it('reports an endpoint answering 405 Method Not Allowed as unavailable, never as passed', async () => {
    const verdict = await audit('method-not-allowed');
    expect(verdict.outcome).toBe('unavailable');
    expect(verdictLine(verdict)).toMatch(/^SKIPPED npm audit --omit=dev: the registry's audit endpoint gave no report: 405 Method Not Allowed - POST http:\/\/127\.0\.0\.1:\d+\/method-not-allowed\/-\/npm\/v1\/security\/advisories\/bulk$/);
  }, 60_000);

  it('reports a registry that does not answer at all as unavailable', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const url = new URL(`http://127.0.0.1:${(closed.address() as AddressInfo).port}/`);
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const verdict = await audit(url);
    expect(verdict.outcome).toBe('unavailable');
    expect(verdict.summary).toMatch(/ECONNREFUSED|connect/);
  }, 60_000);

  it('never passes output that is not a complete audit report', () => {
    for (const output of ['', 'npm error something', '{}', '{"auditReportVersion":2}', '{"auditReportVersion":2,"metadata":{"vulnerabilities":{"high":0}}}', '[]', 'null']) {
      expect(judgeAudit(output).outcome, output).toBe('unavailable');
    }
  });
});

const requested = process.env['NPM_AUDIT'] === '1';
const required = process.env['REQUIRE_NPM_AUDIT'] === '1';

describe.skipIf(!requested)('npm audit of the production dependencies against the registry (NPM_AUDIT=1)', () => {
  it('finds no high or critical advisory', async (context) => {
    const verdict = await auditDependencies(REPO_ROOT);
    console.log(verdictLine(verdict));
    if (verdict.outcome === 'unavailable') {
      // Not a pass: nothing was checked. REQUIRE_NPM_AUDIT=1 makes it a failure.
      expect(required, `${verdictLine(verdict)} (REQUIRE_NPM_AUDIT=1)`).toBe(false);
      context.skip(verdictLine(verdict));
    }
    expect(verdict.outcome === 'failed' ? verdict.findings : []).toEqual([]);
    expect(verdict.outcome).toBe('passed');
  }, 120_000);
});
