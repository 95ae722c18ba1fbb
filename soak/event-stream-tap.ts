// Follows an operator's /events Server-Sent Events stream for as long as the process lives, into a file.
import { appendFileSync } from 'node:fs';
import { request } from 'node:http';

/**
 * Reads `<probeUrl>/events` from the first event the process still buffers (`lastEventId=0`), resuming after the
 * last id seen when the stream ends, until `alive()` says the process is gone. Everything read goes to `path`
 * as received; `events` counts the `data:` lines.
 */
export class EventStreamTap {
  readonly #probeUrl: string;
  readonly #path: string;
  readonly #alive: () => boolean;
  #lastId = '0';
  #events = 0;
  #stopped = false;
  #current: { destroy(): void } | undefined;
  readonly done: Promise<void>;

  constructor(probeUrl: string, path: string, alive: () => boolean) {
    this.#probeUrl = probeUrl;
    this.#path = path;
    this.#alive = alive;
    this.done = this.#follow();
  }

  get events(): number {
    return this.#events;
  }

  stop(): void {
    this.#stopped = true;
    this.#current?.destroy();
  }

  async #follow(): Promise<void> {
    while (!this.#stopped && this.#alive()) {
      await this.#readOnce().catch(() => undefined);
      if (!this.#stopped && this.#alive()) await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }

  #readOnce(): Promise<void> {
    return new Promise((resolve, reject) => {
      const req = request(`${this.#probeUrl}/events?lastEventId=${encodeURIComponent(this.#lastId)}`, { headers: { accept: 'text/event-stream' } }, (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          resolve();
          return;
        }
        let pending = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          appendFileSync(this.#path, chunk);
          pending += chunk;
          const lines = pending.split('\n');
          pending = lines.pop() ?? '';
          for (const line of lines) {
            if (line.startsWith('id:')) this.#lastId = line.slice(3).trim();
            else if (line.startsWith('data:')) this.#events++;
          }
        });
        res.on('end', () => resolve());
        res.on('error', reject);
      });
      this.#current = req;
      req.on('error', reject);
      req.end();
    });
  }
}
