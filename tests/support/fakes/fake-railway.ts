// A fake of Railway's public GraphQL API: checks operations and variables, requires the token, counts calls, and can be scripted.
import type { ServerResponse } from 'node:http';
import { headerOf, sendJson, sendText, startFakeHttpServer, type FakeRequest, type FakeServerOptions } from './fake-http-server.ts';

/** How a deployment the fake creates ends: SUCCESS, FAILED or CRASHED. */
export type RailwayOutcome = 'succeed' | 'fail' | 'crash';

export interface RailwayServiceIds {
  readonly projectId: string;
  readonly environmentId: string;
  readonly serviceId: string;
}

export interface FakeRailwayDeployment extends RailwayServiceIds {
  readonly id: string;
  readonly image: string | undefined;
  status: string;
  readonly createdAt: string;
  /** `deployment(id)` queries answered so far; the status moves one step per query. */
  polls: number;
  readonly outcome: RailwayOutcome;
  /** For a rollback: the deployment rolled back to. */
  readonly rollbackOf?: string;
}

export interface FakeRailway {
  /** The GraphQL endpoint (`…/graphql/v2`). */
  readonly url: string;
  /** Adds a service instance running `image`; with `deployed`, also a first SUCCESS deployment of it. */
  addService(ids: RailwayServiceIds, options?: { readonly image?: string; readonly deployed?: boolean }): void;
  /** The image a service instance is pointed at. */
  serviceImage(serviceId: string, environmentId: string): string | undefined;
  /** Deployments, newest first (of one service when given). */
  deployments(serviceId?: string): readonly FakeRailwayDeployment[];
  /** Operations executed (after auth, validation and scripted failures), by root field; all when no name. */
  calls(operation?: string): number;
  /** Operations executed with this `Idempotency-Key` header (of one operation when given). */
  callsWithKey(key: string, operation?: string): number;
  /** Every HTTP request received, failed ones included. */
  readonly received: number;
  /** Why requests were refused (bad token, invalid document or variables), in order. */
  readonly rejections: readonly string[];
  /** Requests received and not answered yet. */
  readonly inFlight: number;
  /** Outcomes of the next deployments created (deploys and rollbacks), in order; then `succeed`. */
  scriptDeployments(...outcomes: RailwayOutcome[]): void;
  /** `deployment(id)` queries a deployment needs to reach its final status. Default 2. */
  pollsToFinish: number;
  /** The next `count` requests answer HTTP `status` (a 5xx storm), with `Retry-After` when given. */
  failNext(count: number, status?: number, retryAfterSeconds?: number): void;
  /** The next call of `operation` answers with a GraphQL error (and `extensions.code` when given). */
  errorNext(operation: string, message: string, code?: string): void;
  /** Real time every answer waits. Default 0. */
  delayMs: number;
  close(): Promise<void>;
}

interface FieldSpec {
  readonly type: 'query' | 'mutation';
  readonly args: Readonly<Record<string, string>>;
  /** The GraphQL type of the field; scalar fields must not have a selection, object fields must. */
  readonly returns: string;
  readonly scalar: boolean;
}

const FIELDS: Readonly<Record<string, FieldSpec>> = {
  serviceInstanceUpdate: { type: 'mutation', args: { serviceId: 'String!', environmentId: 'String', input: 'ServiceInstanceUpdateInput!' }, returns: 'Boolean!', scalar: true },
  serviceInstanceDeployV2: { type: 'mutation', args: { serviceId: 'String!', environmentId: 'String!', commitSha: 'String' }, returns: 'String!', scalar: true },
  deploymentRollback: { type: 'mutation', args: { id: 'String!' }, returns: 'Boolean!', scalar: true },
  deployment: { type: 'query', args: { id: 'String!' }, returns: 'Deployment!', scalar: false },
  deployments: { type: 'query', args: { input: 'DeploymentListInput!', first: 'Int', after: 'String', last: 'Int', before: 'String' }, returns: 'DeploymentConnection!', scalar: false },
};

const FINAL_STATUS: Readonly<Record<RailwayOutcome, string>> = { succeed: 'SUCCESS', fail: 'FAILED', crash: 'CRASHED' };
const PROGRESS = ['BUILDING', 'DEPLOYING'];

class GraphQLFailure extends Error {
  override name = 'GraphQLFailure';
  readonly code: string | undefined;

  constructor(message: string, code?: string) {
    super(message);
    this.code = code;
  }
}

interface ParsedDocument {
  readonly type: string;
  readonly operationName: string;
  readonly field: string;
  /** Argument name → variable name. */
  readonly args: ReadonlyMap<string, string>;
  readonly hasSelection: boolean;
}

/** Reads the one operation of a document: `query|mutation Name(...) { field(arg: $var, ...) { ... } }`. */
function parseDocument(query: string): ParsedDocument {
  const head = /^\s*(query|mutation)\s+(\w+)\s*(\([^)]*\))?\s*\{\s*(\w+)\s*(\(([^)]*)\))?\s*(\{)?/.exec(query);
  if (head === null) throw new GraphQLFailure('Syntax Error: expected one named query or mutation', 'GRAPHQL_PARSE_FAILED');
  const args = new Map<string, string>();
  for (const match of (head[6] ?? '').matchAll(/(\w+)\s*:\s*\$(\w+)/g)) args.set(match[1] ?? '', match[2] ?? '');
  return { type: head[1] ?? '', operationName: head[2] ?? '', field: head[4] ?? '', args, hasSelection: head[7] === '{' };
}

function validate(document: ParsedDocument, variables: Record<string, unknown>): FieldSpec {
  const spec = FIELDS[document.field];
  const parent = document.type === 'mutation' ? 'Mutation' : 'Query';
  if (spec === undefined || spec.type !== document.type) throw new GraphQLFailure(`Cannot query field "${document.field}" on type "${parent}".`, 'GRAPHQL_VALIDATION_FAILED');
  for (const name of document.args.keys()) {
    if (!(name in spec.args)) throw new GraphQLFailure(`Unknown argument "${name}" on field "${parent}.${document.field}".`, 'GRAPHQL_VALIDATION_FAILED');
  }
  for (const [name, type] of Object.entries(spec.args)) {
    if (!type.endsWith('!')) continue;
    const variable = document.args.get(name);
    if (variable === undefined) throw new GraphQLFailure(`Field "${document.field}" argument "${name}" of type "${type}" is required, but it was not provided.`, 'GRAPHQL_VALIDATION_FAILED');
    if (variables[variable] === undefined || variables[variable] === null) throw new GraphQLFailure(`Variable "$${variable}" of required type "${type}" was not provided.`, 'BAD_USER_INPUT');
  }
  if (spec.scalar && document.hasSelection) throw new GraphQLFailure(`Field "${document.field}" must not have a selection since type "${spec.returns}" has no subfields.`, 'GRAPHQL_VALIDATION_FAILED');
  if (!spec.scalar && !document.hasSelection) throw new GraphQLFailure(`Field "${document.field}" of type "${spec.returns}" must have a selection of subfields.`, 'GRAPHQL_VALIDATION_FAILED');
  return spec;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export interface FakeRailwayOptions extends FakeServerOptions {
  /** The bearer token requests must carry. */
  readonly token: string;
  /**
   * The outcome of a new deployment (of `image`; a rollback names the deployment it restores); undefined
   * falls back to the scripted queue.
   */
  readonly outcomeOf?: (deployment: RailwayServiceIds & { readonly image: string | undefined; readonly rollbackOf?: string }) => RailwayOutcome | undefined;
}

/**
 * Starts a fake Railway GraphQL API that accepts `Authorization: Bearer <token>` only.
 *
 * Deployments move QUEUED → BUILDING → DEPLOYING → their scripted outcome, one step per `deployment(id)`
 * query (`pollsToFinish`), so tests never wait on time. A deployment reaching SUCCESS marks the service's
 * earlier successful one REMOVED, as Railway does. `deploymentRollback(id)` creates a new deployment of the
 * image of deployment `id` and points the service instance back at it.
 */
export async function startFakeRailway(options: FakeRailwayOptions): Promise<FakeRailway> {
  const services = new Map<string, RailwayServiceIds & { image: string | undefined }>();
  const deployments: FakeRailwayDeployment[] = [];
  const executed: { operation: string; key: string | undefined }[] = [];
  const rejections: string[] = [];
  const scripted: RailwayOutcome[] = [];
  const failures: { status: number; retryAfterSeconds: number | undefined }[] = [];
  const errors = new Map<string, { message: string; code: string | undefined }[]>();
  let received = 0;
  let sequence = 0;
  const baseMs = Date.UTC(2026, 0, 1);
  const serviceKey = (serviceId: string, environmentId: string): string => `${serviceId}/${environmentId}`;

  const create = (service: RailwayServiceIds & { image: string | undefined }, image: string | undefined, rollbackOf?: string): FakeRailwayDeployment => {
    sequence += 1;
    const deployment: FakeRailwayDeployment = {
      id: `deployment-${sequence}`,
      projectId: service.projectId,
      environmentId: service.environmentId,
      serviceId: service.serviceId,
      image,
      status: 'QUEUED',
      createdAt: new Date(baseMs + sequence * 1000).toISOString(),
      polls: 0,
      outcome: options.outcomeOf?.({ projectId: service.projectId, environmentId: service.environmentId, serviceId: service.serviceId, image, ...(rollbackOf === undefined ? {} : { rollbackOf }) }) ?? scripted.shift() ?? 'succeed',
      ...(rollbackOf === undefined ? {} : { rollbackOf }),
    };
    deployments.unshift(deployment);
    return deployment;
  };

  const settle = (deployment: FakeRailwayDeployment, status: string): void => {
    if (status === 'SUCCESS') {
      for (const other of deployments) {
        if (other !== deployment && other.serviceId === deployment.serviceId && other.environmentId === deployment.environmentId && other.status === 'SUCCESS') other.status = 'REMOVED';
      }
    }
    deployment.status = status;
  };

  const serviceOf = (serviceId: unknown, environmentId: unknown): RailwayServiceIds & { image: string | undefined } => {
    const service = services.get(serviceKey(String(serviceId), String(environmentId)));
    if (service === undefined) throw new GraphQLFailure('Service instance not found', 'NOT_FOUND');
    return service;
  };

  const execute = (field: string, args: Record<string, unknown>): unknown => {
    switch (field) {
      case 'serviceInstanceUpdate': {
        const service = serviceOf(args['serviceId'], args['environmentId']);
        const source = isRecord(args['input']) ? args['input']['source'] : undefined;
        if (!isRecord(source) || typeof source['image'] !== 'string') throw new GraphQLFailure('input.source.image must be a string', 'BAD_USER_INPUT');
        service.image = source['image'];
        return true;
      }
      case 'serviceInstanceDeployV2': {
        const service = serviceOf(args['serviceId'], args['environmentId']);
        return create(service, service.image).id;
      }
      case 'deployment': {
        const deployment = deployments.find((candidate) => candidate.id === args['id']);
        if (deployment === undefined) throw new GraphQLFailure('Deployment not found', 'NOT_FOUND');
        if (!['SUCCESS', 'FAILED', 'CRASHED', 'REMOVED'].includes(deployment.status)) {
          deployment.polls += 1;
          settle(deployment, deployment.polls >= fake.pollsToFinish ? FINAL_STATUS[deployment.outcome] : (PROGRESS[Math.min(deployment.polls - 1, PROGRESS.length - 1)] ?? 'BUILDING'));
        }
        return { id: deployment.id, status: deployment.status };
      }
      case 'deployments': {
        const input = args['input'];
        if (!isRecord(input) || typeof input['serviceId'] !== 'string' || typeof input['environmentId'] !== 'string' || typeof input['projectId'] !== 'string') {
          throw new GraphQLFailure('input needs projectId, environmentId and serviceId', 'BAD_USER_INPUT');
        }
        const successfulOnly = isRecord(input['status']) && input['status']['successfulOnly'] === true;
        const first = typeof args['first'] === 'number' ? args['first'] : 100;
        const listed = deployments
          .filter((deployment) => deployment.serviceId === input['serviceId'] && deployment.environmentId === input['environmentId'] && deployment.projectId === input['projectId'])
          .filter((deployment) => !successfulOnly || deployment.status === 'SUCCESS')
          .slice(0, first);
        return { edges: listed.map((deployment) => ({ node: { id: deployment.id, status: deployment.status, createdAt: deployment.createdAt, meta: deployment.image === undefined ? {} : { image: deployment.image } } })) };
      }
      case 'deploymentRollback': {
        const target = deployments.find((candidate) => candidate.id === args['id']);
        if (target === undefined) throw new GraphQLFailure('Deployment not found', 'NOT_FOUND');
        const service = serviceOf(target.serviceId, target.environmentId);
        service.image = target.image;
        create(service, target.image, target.id);
        return true;
      }
      default:
        throw new GraphQLFailure(`Cannot query field "${field}"`, 'GRAPHQL_VALIDATION_FAILED');
    }
  };

  const handle = (request: FakeRequest, response: ServerResponse): void => {
    received += 1;
    const failure = failures.shift();
    if (failure !== undefined) {
      sendText(response, failure.status, 'upstream unavailable', failure.retryAfterSeconds === undefined ? {} : { 'retry-after': String(failure.retryAfterSeconds) });
      return;
    }
    const refuse = (reason: string, code: string | undefined): void => {
      rejections.push(reason);
      sendJson(response, 200, { data: null, errors: [{ message: reason, ...(code === undefined ? {} : { extensions: { code } }) }] });
    };
    if (request.method !== 'POST' || request.path !== '/graphql/v2') {
      sendJson(response, 404, { errors: [{ message: 'Not Found' }] });
      return;
    }
    if (headerOf(request, 'authorization') !== `Bearer ${options.token}`) {
      refuse('Not Authorized', 'UNAUTHENTICATED');
      return;
    }
    let body: unknown;
    try {
      body = JSON.parse(request.body);
    } catch {
      sendJson(response, 400, { errors: [{ message: 'POST body sent invalid JSON.' }] });
      return;
    }
    if (!isRecord(body) || typeof body['query'] !== 'string') {
      sendJson(response, 400, { errors: [{ message: 'POST body must have a query' }] });
      return;
    }
    const variables = isRecord(body['variables']) ? body['variables'] : {};
    let document: ParsedDocument;
    try {
      document = parseDocument(body['query']);
      if (body['operationName'] !== undefined && body['operationName'] !== document.operationName) {
        throw new GraphQLFailure(`Unknown operation named "${String(body['operationName'])}".`, 'GRAPHQL_VALIDATION_FAILED');
      }
      validate(document, variables);
    } catch (error) {
      refuse(error instanceof Error ? error.message : String(error), error instanceof GraphQLFailure ? error.code : undefined);
      return;
    }
    const scriptedError = errors.get(document.field)?.shift();
    if (scriptedError !== undefined) {
      sendJson(response, 200, { data: null, errors: [{ message: scriptedError.message, ...(scriptedError.code === undefined ? {} : { extensions: { code: scriptedError.code } }) }] });
      return;
    }
    const args: Record<string, unknown> = {};
    for (const [name, variable] of document.args) args[name] = variables[variable];
    executed.push({ operation: document.field, key: headerOf(request, 'idempotency-key') });
    try {
      sendJson(response, 200, { data: { [document.field]: execute(document.field, args) } });
    } catch (error) {
      const code = error instanceof GraphQLFailure ? error.code : undefined;
      sendJson(response, 200, { data: null, errors: [{ message: error instanceof Error ? error.message : String(error), ...(code === undefined ? {} : { extensions: { code } }) }] });
    }
  };

  const server = await startFakeHttpServer((request, response) => server.later(fake.delayMs, () => handle(request, response)), options);
  const fake: FakeRailway = {
    url: `${server.url}/graphql/v2`,
    addService(ids, serviceOptions = {}) {
      const service = { ...ids, image: serviceOptions.image };
      services.set(serviceKey(ids.serviceId, ids.environmentId), service);
      if (serviceOptions.deployed === true) {
        const deployment = create(service, serviceOptions.image);
        settle(deployment, 'SUCCESS');
      }
    },
    serviceImage: (serviceId, environmentId) => services.get(serviceKey(serviceId, environmentId))?.image,
    deployments: (serviceId) => deployments.filter((deployment) => serviceId === undefined || deployment.serviceId === serviceId),
    calls: (operation) => executed.filter((call) => operation === undefined || call.operation === operation).length,
    callsWithKey: (key, operation) => executed.filter((call) => call.key === key && (operation === undefined || call.operation === operation)).length,
    get received() {
      return received;
    },
    rejections,
    get inFlight() {
      return server.inFlight;
    },
    scriptDeployments: (...outcomes) => {
      scripted.push(...outcomes);
    },
    pollsToFinish: 2,
    failNext(count, status = 503, retryAfterSeconds) {
      for (let i = 0; i < count; i += 1) failures.push({ status, retryAfterSeconds });
    },
    errorNext(operation, message, code) {
      errors.set(operation, [...(errors.get(operation) ?? []), { message, code }]);
    },
    delayMs: 0,
    close: () => server.close(),
  };
  return fake;
}
