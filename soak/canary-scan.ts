// Looks for the canary secret (whole, or its start as a cut quote would leave it) in files and collected text.
import { createReadStream, existsSync, statSync } from 'node:fs';
import type { CanaryFinding } from './invariants.ts';

/** What counts as the canary: the whole marker, or its first 12 characters (a quote cut short keeps its start). */
export function canaryNeedles(canary: string): string[] {
  return [...new Set([canary, canary.slice(0, 12)])];
}

function sampleAround(text: string, index: number, needles: readonly string[]): string {
  let sample = text.slice(Math.max(0, index - 60), index + 60).replace(/\s+/g, ' ');
  for (const needle of needles) sample = sample.split(needle).join('<CANARY>');
  return JSON.stringify(sample);
}

function firstMatch(text: string, needles: readonly string[]): number {
  const positions = needles.map((needle) => text.indexOf(needle)).filter((index) => index >= 0);
  return positions.length === 0 ? -1 : Math.min(...positions);
}

/** Occurrences of the shortest needle (every longer one starts with it) that start before `limit`. */
function countMatches(text: string, needles: readonly string[], limit = text.length): number {
  const shortest = [...needles].sort((a, b) => a.length - b.length)[0] ?? '';
  if (shortest === '') return 0;
  let count = 0;
  for (let at = text.indexOf(shortest); at >= 0 && at < limit; at = text.indexOf(shortest, at + shortest.length)) count++;
  return count;
}

/** Scans text held in memory. */
export function scanText(source: string, text: string, needles: readonly string[]): CanaryFinding {
  const index = firstMatch(text, needles);
  return { source, bytes: Buffer.byteLength(text), matches: countMatches(text, needles), ...(index < 0 ? {} : { sample: sampleAround(text, index, needles) }) };
}

/** Scans files chunk by chunk (logs can be large), overlapping chunks so a match across a boundary is found. */
export async function scanFiles(source: string, paths: readonly string[], needles: readonly string[]): Promise<CanaryFinding> {
  const overlap = Math.max(...needles.map((needle) => needle.length)) - 1;
  let bytes = 0;
  let matches = 0;
  let sample: string | undefined;
  for (const path of paths) {
    if (!existsSync(path)) continue;
    bytes += statSync(path).size;
    let carry = '';
    for await (const chunk of createReadStream(path, { encoding: 'utf8', highWaterMark: 1 << 20 })) {
      const text = carry + (chunk as string);
      // Matches starting in the last `overlap` characters are counted with the next chunk, which starts with them.
      const limit = Math.max(0, text.length - overlap);
      matches += countMatches(text, needles, limit);
      const index = firstMatch(text, needles);
      if (sample === undefined && index >= 0) sample = `${path}: ${sampleAround(text, index, needles)}`;
      carry = text.slice(limit);
    }
    matches += countMatches(carry, needles);
  }
  return { source, bytes, matches, ...(sample === undefined ? {} : { sample }) };
}
