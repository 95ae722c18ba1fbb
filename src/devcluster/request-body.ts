// Reading and decoding request bodies: the 3 MiB limit, JSON and YAML, and kube-apiserver's decode errors.
import type { IncomingMessage } from 'node:http';
import { parse as parseYaml } from 'yaml';
import type { Json } from './json.ts';
import { StatusError, statusErrors } from './status-error.ts';

/** kube-apiserver's request body limit. */
export const MAX_BODY_BYTES = 3 * 1024 * 1024;

/** Reads the whole body; rejects with 413 past {@link MAX_BODY_BYTES} (the rest is drained, not stored). */
export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_BODY_BYTES) {
      tooLarge = true;
      req.resume();
      reject(statusErrors.tooLarge());
      return;
    }
    req.on('data', (chunk: Buffer) => {
      if (tooLarge) return;
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        tooLarge = true;
        chunks.length = 0;
        reject(statusErrors.tooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!tooLarge) resolve(Buffer.concat(chunks));
    });
    req.on('error', (error) => reject(error));
    req.on('aborted', () => reject(new StatusError(400, 'BadRequest', 'the client closed the request')));
  });
}

/** Go's wording of a JSON syntax error, as kube-apiserver reports it. */
export function jsonErrorText(text: string, error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (/end of (JSON|data)|Unterminated string/i.test(message) || text.trim() === '') return 'unexpected end of JSON input';
  const position = /position (\d+)/.exec(message);
  const index = position === null ? 0 : Number(position[1]);
  const ch = text[index] ?? '';
  return `invalid character '${ch}' looking for beginning of value`;
}

/** Parses a JSON or YAML object body of a create or update; malformed input is kube's 400. */
export function decodeObject(buffer: Buffer, contentType: string, kind: string): Json {
  const text = buffer.toString('utf8');
  if (/yaml/i.test(contentType)) {
    try {
      return parseYaml(text) as Json;
    } catch (error) {
      throw statusErrors.badRequest(`the object provided is unrecognized (must be of type ${kind}): couldn't get version/kind; yaml parse error: ${error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error)}`);
    }
  }
  try {
    return JSON.parse(text) as Json;
  } catch (error) {
    const snippet = text.length > 30 ? `${text.slice(0, 30)} ...` : text;
    throw statusErrors.badRequest(`the object provided is unrecognized (must be of type ${kind}): couldn't get version/kind; json parse error: ${jsonErrorText(text, error)} (${snippet})`);
  }
}

/** Parses a patch body; malformed JSON is `error decoding patch: ...`. */
export function decodePatch(buffer: Buffer): Json {
  const text = buffer.toString('utf8');
  try {
    return JSON.parse(text) as Json;
  } catch (error) {
    throw statusErrors.badRequest(`error decoding patch: ${jsonErrorText(text, error)}`);
  }
}
