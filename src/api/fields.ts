// Field types shared by the kinds: names, URLs, images, Secret references, timestamps, bounded maps.
import { z } from 'zod';
import type { FieldErrorParams } from './field-error.ts';

// Patterns are written for both engines: JavaScript for zod, RE2 for kube-apiserver.
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const HTTP_URL = /^https?:\/\/[^\s/?#]+([/?#]\S*)?$/;
const IMAGE = /^[A-Za-z0-9][A-Za-z0-9._/:@+-]*$/;
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;
const OPAQUE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
/** A Kubernetes qualified name with an optional DNS prefix, as label and annotation keys are. */
export const QUALIFIED_NAME = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

const QUALIFIED_NAME_RULE = "must be a qualified name: an optional DNS subdomain and '/', then alphanumerics, '-', '_' or '.'";

export const fields = {
  /** A DNS-1123 label: lower-case alphanumerics and '-', at most 63 characters. */
  dnsLabel: (description: string) => z.string().min(1).max(63).regex(DNS1123_LABEL).describe(description),

  /** A DNS-1123 subdomain, as most object names are: at most 253 characters. */
  dnsSubdomain: (description: string) => z.string().min(1).max(253).regex(DNS1123_SUBDOMAIN).describe(description),

  /** An http:// or https:// URL. */
  httpUrl: (description: string) => z.string().min(1).max(2048).regex(HTTP_URL).describe(description),

  /** A container image reference: `registry/repository:tag` or `@sha256:...`. */
  image: (description: string) => z.string().min(1).max(1024).regex(IMAGE).describe(description),

  /** An identifier issued by another system (a Railway project, a deployment). */
  opaqueId: (description: string) => z.string().min(1).max(128).regex(OPAQUE_ID).describe(description),

  /** Free text, bounded. */
  text: (maxLength: number, description: string) => z.string().max(maxLength).describe(description),

  /** A whole number within bounds. */
  integer: (min: number, max: number, description: string) => z.number().int().min(min).max(max).describe(description),

  /** An RFC 3339 time, as metav1.Time serializes. */
  timestamp: (description: string) => z.iso.datetime({ offset: true }).max(64).describe(description),

  /** A key of a Secret in the resource's namespace. The operator reads it; its value never appears anywhere else. */
  secretRef: (description: string) =>
    z
      .object({
        name: z.string().min(1).max(253).regex(DNS1123_SUBDOMAIN).describe('Name of the Secret, in the namespace of this resource.'),
        key: z.string().min(1).max(253).regex(SECRET_KEY).describe('Key within the Secret.'),
      })
      .describe(description),

  /** A string-to-string map with qualified-name keys and at most `maxEntries` entries (labels, annotations). */
  stringMap: (maxEntries: number, maxValueLength: number, description: string) =>
    z
      .record(z.string().min(1).max(317).regex(QUALIFIED_NAME, QUALIFIED_NAME_RULE), z.string().max(maxValueLength))
      .superRefine((map, ctx) => {
        const size = Object.keys(map).length;
        if (size <= maxEntries) return;
        const params: FieldErrorParams = { fieldError: { type: 'TooMany', value: String(size) } };
        ctx.addIssue({ code: 'custom', message: `must have at most ${maxEntries} items`, params });
      })
      .meta({ maxProperties: maxEntries })
      .describe(description),

  /** How persistently failing calls are retried. */
  retryPolicy: () =>
    z
      .enum(['default', 'critical'])
      .default('default')
      .describe('Retry policy of the workflow steps: default (a few attempts, short backoff) or critical (more attempts, longer backoff).'),

  /** Pauses reconciliation. */
  suspend: (description: string) => z.boolean().default(false).describe(description),
};
