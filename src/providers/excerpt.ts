// Remote text quoted in messages (answer bodies, condition messages): flattened and bounded.

/** `text` with white space collapsed, cut to `maxLength` characters (an ellipsis marks the cut). Default 200. */
export function excerpt(text: string, maxLength = 200): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= maxLength ? flat : `${flat.slice(0, maxLength - 1)}…`;
}
