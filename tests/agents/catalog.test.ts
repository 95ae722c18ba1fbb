import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AgentCatalog, isAgentCatalogError, isUnknownAgentError, loadAgentCatalog, parseAgentCatalog, type AgentEntry } from '../../src/agents/catalog.ts';
import { ManualClock } from '../../src/resilience/clock.ts';

const shipped = new URL('../../agent-catalog/agents.yaml', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'agents-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function problemOf(text: string): string {
  try {
    parseAgentCatalog(text, 'agents.yaml');
  } catch (error) {
    if (isAgentCatalogError(error)) return error.message;
    throw error;
  }
  throw new Error('the catalog was accepted');
}

const AGENT = `  - id: deploy-bot
    name: Deploy Bot
    description: Ships services.
    capabilities: [deploy]
    operatorLevel: true
    category: deployment
    complianceSensitive: false
    component: deploy-controller
`;

describe('the shipped agent catalog', () => {
  it('loads, with the agents of DESIGN.md and two platform agents, each playing its own component', async () => {
    const agents = await loadAgentCatalog(shipped);
    expect(agents.map((agent) => agent.name)).toEqual(['Deploy Bot', 'Sweep Bot', 'Policy Bot', 'Sync Agent', 'Health Monitor', 'Archive Bot', 'Lease Keeper', 'Event Relay']);
    expect(new Set(agents.map((agent) => agent.component)).size).toBe(agents.length);
    expect(agents.filter((agent) => agent.category === 'platform')).toHaveLength(2);
    expect(agents.find((agent) => agent.id === 'policy-bot')).toMatchObject({ component: 'approval-gate', complianceSensitive: true, operatorLevel: true });
    expect(agents.find((agent) => agent.id === 'archive-bot')).toMatchObject({ component: 'audit-archiver', complianceSensitive: true });
  });
});

describe('an invalid agent catalog', () => {
  it('names the file, the field and the problem', () => {
    expect(problemOf(`agents:\n${AGENT.replace('    capabilities: [deploy]\n', '')}`)).toBe('invalid agent catalog agents.yaml: agents[0].capabilities: Required value');
    expect(problemOf(`agents:\n${AGENT.replace('category: deployment', 'category: magic')}`)).toMatch(
      /^invalid agent catalog agents\.yaml: agents\[0\]\.category: Unsupported value: "magic": supported values: "deployment", /,
    );
    expect(problemOf(`agents:\n${AGENT.replace('operatorLevel: true', 'operatorLevel: yes please')}`)).toContain('agents[0].operatorLevel: Invalid value: "string"');
    expect(problemOf(`agents:\n${AGENT}    colour: blue\n`)).toBe('invalid agent catalog agents.yaml: agents[0].colour: Unknown field: the field is not part of the schema');
  });

  it('rejects a repeated id and a component played twice', () => {
    const twice = `agents:\n${AGENT}${AGENT.replace('name: Deploy Bot', 'name: Other')}`;
    expect(problemOf(twice)).toContain('agents[1].id: Duplicate value: "deploy-bot"');
    expect(problemOf(twice.replace(/id: deploy-bot(?![\s\S]*id: deploy-bot)/, 'id: other-bot'))).toBe(
      'invalid agent catalog agents.yaml: agents[1].component: Duplicate value: "deploy-controller": each component is played by one agent',
    );
  });

  it('reports broken YAML and an unreadable file without a stack trace in the message', async () => {
    expect(problemOf('agents: [\n')).toMatch(/^invalid agent catalog agents\.yaml: invalid YAML: .*line 2, column 1$/);
    const missing = join(dir, 'missing.yaml');
    await expect(loadAgentCatalog(missing)).rejects.toThrow(`invalid agent catalog ${missing}: cannot read it: ENOENT`);
    const empty = join(dir, 'empty.yaml');
    writeFileSync(empty, 'agents: []\n');
    await expect(loadAgentCatalog(empty)).rejects.toThrow(`invalid agent catalog ${empty}: agents: Invalid value: 0: agents in body should have at least 1 items`);
  });
});

describe('AgentCatalog live state', () => {
  const entries: AgentEntry[] = parseAgentCatalog(`agents:\n${AGENT}`, 'agents.yaml');

  it('starts every agent inactive and records each change with the time and message', () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const catalog = new AgentCatalog(entries, clock);
    expect(catalog.get('deploy-bot')?.live).toEqual({ state: 'inactive', since: '2026-01-01T00:00:00.000Z' });
    clock.advance(5000);
    catalog.setState('deploy-bot', 'degraded', 'breaker provider:railway open');
    expect(catalog.list()).toEqual([{ ...entries[0], live: { state: 'degraded', since: '2026-01-01T00:00:05.000Z', message: 'breaker provider:railway open' } }]);
  });

  it('tells listeners about changes only, and finds agents by the component they play', () => {
    const catalog = new AgentCatalog(entries, new ManualClock());
    const heard: string[] = [];
    const stop = catalog.onChange((agent, previous) => heard.push(`${agent.id}: ${previous.state} -> ${agent.live.state}`));
    expect(catalog.setComponentState('deploy-controller', 'active')).toBe(true);
    catalog.setState('deploy-bot', 'active');
    expect(catalog.setComponentState('event-bus', 'active')).toBe(false);
    stop();
    catalog.setState('deploy-bot', 'stopped');
    expect(heard).toEqual(['deploy-bot: inactive -> active']);
    expect(catalog.forComponent('deploy-controller')?.live.state).toBe('stopped');
  });

  it('refuses state for an agent it does not hold', () => {
    const catalog = new AgentCatalog(entries, new ManualClock());
    let caught: unknown;
    try {
      catalog.setState('ghost', 'active');
    } catch (error) {
      caught = error;
    }
    expect(isUnknownAgentError(caught)).toBe(true);
  });
});
