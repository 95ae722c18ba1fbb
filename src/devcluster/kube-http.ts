// The simulator's HTTP calls to an API server, over a client-node KubeConfig's authentication and TLS settings.
//
// Kept in one small module so the simulator can move to the typed client of src/kube/ without touching its logic.
import type { IncomingMessage, RequestOptions } from 'node:http';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

/** An answered request. */
export interface KubeResponse {
  readonly status: number;
  readonly body: string;
}

/** Requests against the current context of a KubeConfig. */
export class KubeHttp {
  readonly #kubeConfig: KubeConfig;

  constructor(kubeConfig: KubeConfig) {
    this.#kubeConfig = kubeConfig;
  }

  /** Sends a request and returns the raw streaming answer (the caller consumes or destroys it). */
  async open(method: string, path: string, body?: string, contentType = 'application/json', signal?: AbortSignal): Promise<IncomingMessage> {
    const server = this.#kubeConfig.getCurrentCluster()?.server;
    if (server === undefined) throw new Error('the kubeconfig has no current cluster');
    const url = new URL(path, server);
    const options: RequestOptions = { method, headers: {} };
    await this.#kubeConfig.applyToHTTPSOptions(options as never);
    const headers: Record<string, string> = { accept: 'application/json', ...(options.headers as Record<string, string>) };
    if (body !== undefined) {
      headers['content-type'] = contentType;
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    options.headers = headers;
    return new Promise((resolve, reject) => {
      const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, { ...options, ...(signal === undefined ? {} : { signal }) }, resolve);
      req.on('error', reject);
      req.end(body);
    });
  }

  /** Sends a request and reads the whole answer. */
  async request(method: string, path: string, body?: unknown, contentType?: string): Promise<KubeResponse> {
    const res = await this.open(method, path, body === undefined ? undefined : JSON.stringify(body), contentType);
    const chunks: Buffer[] = [];
    for await (const chunk of res) chunks.push(chunk as Buffer);
    return { status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') };
  }

  /**
   * Streams a watch: calls `onEvent` with each parsed line until the server ends the stream or `signal`
   * aborts. Resolves with the HTTP status (events arrive only with 200).
   */
  async watch(path: string, onEvent: (event: { type: string; object: Record<string, unknown> }) => void, signal: AbortSignal): Promise<number> {
    const res = await this.open('GET', path, undefined, undefined, signal);
    if (res.statusCode !== 200) {
      res.resume();
      return res.statusCode ?? 0;
    }
    let buffered = '';
    res.setEncoding('utf8');
    try {
      for await (const chunk of res) {
        buffered += chunk as string;
        let index: number;
        while ((index = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, index).trim();
          buffered = buffered.slice(index + 1);
          if (line !== '') onEvent(JSON.parse(line) as { type: string; object: Record<string, unknown> });
        }
      }
    } catch (error) {
      if (!signal.aborted) throw error;
    }
    return 200;
  }
}
