// `npm audit` of the production dependencies, judged: PASSED (no high or critical advisory), FAILED (some), or SKIPPED
// when the registry's audit endpoint cannot be reached, which is never counted as a pass.
// Run: node scripts/audit-dependencies.ts [--require-endpoint] [npm audit flags...]   (CI: .ci/run)
// Exit code: 0 passed or skipped, 1 failed, 2 skipped under --require-endpoint.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SEVERITIES = ['info', 'low', 'moderate', 'high', 'critical'] as const;
type Severity = (typeof SEVERITIES)[number];

/** One vulnerable package of the report, with the advisories that make it so. */
export interface AuditFinding {
  readonly name: string;
  readonly severity: Severity;
  readonly advisories: readonly string[];
}

export type AuditVerdict =
  | { readonly outcome: 'passed'; readonly counts: Record<Severity, number>; readonly summary: string }
  | { readonly outcome: 'failed'; readonly counts: Record<Severity, number>; readonly findings: readonly AuditFinding[]; readonly summary: string }
  | { readonly outcome: 'unavailable'; readonly summary: string };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Judges the `--json` output of `npm audit --omit=dev --audit-level=high`.
 *
 * Guarantees: only a complete audit report (`auditReportVersion` 2 with its vulnerability counts) can pass; an error
 * answer of the endpoint (npm prints `{statusCode, message, ...}`), a network error or anything unreadable is
 * `unavailable`, never `passed`.
 */
export function judgeAudit(stdout: string): AuditVerdict {
  let report: unknown;
  try {
    report = JSON.parse(stdout);
  } catch {
    return { outcome: 'unavailable', summary: `npm audit printed no JSON report: ${stdout.trim().split('\n')[0]?.slice(0, 200) ?? '(nothing)'}` };
  }
  const counts = isRecord(report) && isRecord(report['metadata']) && isRecord(report['metadata']['vulnerabilities']) ? report['metadata']['vulnerabilities'] : undefined;
  if (!isRecord(report) || report['auditReportVersion'] !== 2 || counts === undefined || !SEVERITIES.every((severity) => typeof counts[severity] === 'number')) {
    const message = isRecord(report) && typeof report['message'] === 'string' ? report['message'] : isRecord(report) && isRecord(report['error']) ? String(report['error']['summary'] ?? report['error']['code'] ?? '') : '';
    return { outcome: 'unavailable', summary: `the registry's audit endpoint gave no report: ${message === '' ? JSON.stringify(report).slice(0, 200) : message}` };
  }
  const tally = Object.fromEntries(SEVERITIES.map((severity) => [severity, counts[severity] as number])) as Record<Severity, number>;
  const lower = `${tally.moderate} moderate, ${tally.low} low, ${tally.info} info`;
  if (tally.high + tally.critical === 0) return { outcome: 'passed', counts: tally, summary: `no high or critical advisory in the production dependencies (${lower})` };
  const vulnerabilities = isRecord(report['vulnerabilities']) ? Object.values(report['vulnerabilities']).filter(isRecord) : [];
  const findings: AuditFinding[] = vulnerabilities
    .filter((entry) => entry['severity'] === 'high' || entry['severity'] === 'critical')
    .map((entry) => ({
      name: String(entry['name']),
      severity: entry['severity'] as Severity,
      // `via` holds advisories (objects) or the names of the vulnerable packages it comes through (strings).
      advisories: (Array.isArray(entry['via']) ? entry['via'] : []).map((via) => (isRecord(via) ? `${String(via['title'])} (${String(via['url'])})` : `via ${String(via)}`)),
    }));
  const listed = findings.map((finding) => `${finding.name} [${finding.severity}]: ${finding.advisories.join('; ')}`).join(' | ');
  return { outcome: 'failed', counts: tally, findings, summary: `${tally.critical} critical and ${tally.high} high advisories in the production dependencies: ${listed}` };
}

/** Runs `npm audit --omit=dev --audit-level=high --json` (plus `extraArgs`) in `cwd` and judges it. */
export function auditDependencies(cwd: string, extraArgs: readonly string[] = [], env: NodeJS.ProcessEnv = process.env): Promise<AuditVerdict> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['audit', '--omit=dev', '--audit-level=high', '--json', ...extraArgs], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.resume();
    child.once('error', reject);
    child.once('close', () => resolve(judgeAudit(stdout)));
  });
}

/** The one line CI prints for a verdict. */
export function verdictLine(verdict: AuditVerdict): string {
  const label = verdict.outcome === 'passed' ? 'PASSED' : verdict.outcome === 'failed' ? 'FAILED' : 'SKIPPED';
  return `${label} npm audit --omit=dev: ${verdict.summary}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const requireEndpoint = args.includes('--require-endpoint');
  const verdict = await auditDependencies(fileURLToPath(new URL('..', import.meta.url)), args.filter((arg) => arg !== '--require-endpoint'));
  console.log(verdictLine(verdict));
  if (verdict.outcome === 'unavailable') console.log('  (not a pass: no advisory database was consulted; run it again where the registry answers POST /-/npm/v1/security/advisories/bulk)');
  process.exitCode = verdict.outcome === 'failed' ? 1 : verdict.outcome === 'unavailable' && requireEndpoint ? 2 : 0;
}
