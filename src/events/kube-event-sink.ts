// The sink that turns domain events into Kubernetes Events on the resource they are about.
import type { DomainEvent, EventSink } from './event-sink.ts';
import type { KubeEvent, KubeEventPublisher } from './kube-event-publisher.ts';

/** events.k8s.io/v1 limits: `reason` and `action` at most 128 characters, `note` at most 1 kB. */
const REASON_MAX_CHARS = 128;
const NOTE_MAX_BYTES = 1024;

/** Cuts `text` to at most `maxBytes` of UTF-8 without splitting a character, marking the cut with `…`. */
export function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text, 'utf8') <= maxBytes) return text;
  const ellipsis = '…';
  let out = '';
  let bytes = Buffer.byteLength(ellipsis, 'utf8');
  for (const char of text) {
    const size = Buffer.byteLength(char, 'utf8');
    if (bytes + size > maxBytes) break;
    out += char;
    bytes += size;
  }
  return `${out}${ellipsis}`;
}

/**
 * Delivers the Kubernetes view of each event (see the catalog in `domain-events.ts`) through the
 * runtime's recorder; events without one are skipped. The name (`kubernetes`) labels its metrics.
 */
export class KubeEventSink implements EventSink {
  readonly name = 'kubernetes';
  readonly #publisher: KubeEventPublisher;

  constructor(publisher: KubeEventPublisher) {
    this.#publisher = publisher;
  }

  async deliver(event: DomainEvent, signal: AbortSignal): Promise<void> {
    const view = event.kubeEvent;
    if (view === undefined) return;
    const bounded: KubeEvent = {
      regarding: view.regarding,
      type: view.type,
      reason: view.reason.slice(0, REASON_MAX_CHARS),
      action: view.action.slice(0, REASON_MAX_CHARS),
      note: truncateUtf8(view.note, NOTE_MAX_BYTES),
    };
    await this.#publisher.publish(bounded, signal);
  }
}
