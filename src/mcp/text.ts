/** Text shortening shared by the output shaper (format.ts) and the error shaper (errors.ts). */

const isHighSurrogate = (code: number): boolean => code >= 0xd800 && code <= 0xdbff;

/**
 * Shortens text to at most `max` characters by cutting out its middle, where a marker says how much
 * is missing: both ends stay readable (a path keeps its folder and its file name).
 */
export function truncateText(text: string, max: number): string {
  if (text.length <= max) return text;
  const marker = (cut: number) => `…[${cut} characters cut]…`;
  const keep = Math.max(0, max - marker(text.length).length);
  let head = Math.ceil(keep / 2);
  let tail = keep - head;
  // Never split a surrogate pair: half of one is not text.
  if (head > 0 && isHighSurrogate(text.charCodeAt(head - 1))) head--;
  if (tail > 0 && isHighSurrogate(text.charCodeAt(text.length - tail - 1))) tail--;
  return `${text.slice(0, head)}${marker(text.length - head - tail)}${text.slice(text.length - tail)}`;
}
