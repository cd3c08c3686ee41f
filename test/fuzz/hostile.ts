/**
 * Hostile tool calls, generated from a seed: for every tool of tools/list, arguments mixing values
 * that make sense in the demo archive with long strings, unpaired surrogates, control characters,
 * path traversal, symbolic links, wrong types, huge numbers, odd Unicode and empty values. The same
 * seed gives the same calls, so a failure can be replayed.
 */
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import { imageTokens } from '../../src/mcp/format.js';

/** mulberry32: small, fast and good enough to pick test inputs. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Names the demo archive knows, by parameter name, so calls also get past the first checks. */
const PLAUSIBLE: Record<string, unknown[]> = {
  project: ['BRAIN_MR', 'PET_AMYLOID', 'PEDS_DTI', 'NOPE'],
  targetProject: ['PET_AMYLOID', 'BRAIN_MR'],
  toProject: ['PET_AMYLOID'],
  subject: ['XNAT_S00001', 'BMR001', 'XNAT_S99999'],
  experiment: ['XNAT_E00001', 'BMR001_MR1', 'XNAT_E99999'],
  id: ['XNAT_E00001', 'XNAT_S00001', 'BMR001'],
  scan: ['1', '2', 2, 1],
  scans: [['1', '2'], [2], ['99']],
  scanTypes: [['T1w*'], ['t1w_mpr'], ['*'], ['nothing']],
  resource: ['DICOM', 'NIFTI', 'SNAPSHOTS'],
  assessor: ['XNAT_E00002', 'FS1'],
  file: ['1.dcm', 'a/b.dcm'],
  label: ['FUZZ_1', 'BMR001', 'x'],
  kind: ['project', 'subject', 'experiment', 'scan', 'assessor', 'resource', 'file'],
  action: ['archive', 'move', 'delete', 'rebuild'],
  localPaths: [['in.txt'], ['folder'], ['loop'], ['escape/secret.txt']],
  path: ['dicom.zip', 'folder', 'loop', 'escape'],
  destination: ['out', 'loop/x', 'escape', '.'],
  session: ['/prearchive/projects/BRAIN_MR/20240101_000000000/S1', 'x'],
  dateFrom: ['2020-01-01', '2020-02-30'],
  dateTo: ['2030-12-31'],
  xsiType: ['xnat:mrSessionData', 'xnat:petSessionData', 'nope:type'],
  limit: [1, 25, 100],
  cursor: ['eyJvIjoxMDAsInQiOjEsImYiOiJ4In0', 'not-a-cursor'],
  confirm: ['XNAT_E00001', 'yes'],
  dryRun: [true, false],
};

const LONG = 'A'.repeat(20_000);

/** Values no caller should send, and some hosts do. */
const HOSTILE: unknown[] = [
  '',
  ' ',
  LONG,
  'P'.repeat(300),
  '\ud800',
  'x\udc00y',
  '\ud83d',
  '\u0000',
  'a\u0000b',
  '\u001b[31mred',
  'line\nbreak',
  '\t',
  '../../../../etc/passwd',
  '/etc/passwd',
  '..',
  '.',
  '%2e%2e%2f',
  'a/../../b',
  '\\..\\..\\windows',
  '*',
  '%',
  '?x=1#y',
  '😀'.repeat(600),
  '\u202eevil',
  'Ｐｒｏｊｅｃｔ',
  'é'.normalize('NFD'),
  '9'.repeat(400),
  "' OR 1=1 --",
  '<script>alert(1)</script>',
  'null',
  0,
  -1,
  1.5,
  1e308,
  -1e308,
  2 ** 53 + 1,
  true,
  false,
  null,
  [],
  [''],
  ['\ud800'],
  [LONG],
  Array.from({ length: 2000 }, (_, i) => String(i)),
  {},
  { a: 'b' },
  JSON.parse('{"__proto__": {"polluted": true}}'),
];

interface JsonSchemaLike {
  type?: string | string[];
  enum?: unknown[];
  properties?: Record<string, JsonSchemaLike>;
  required?: string[];
  items?: JsonSchemaLike;
}

function pick<T>(random: () => number, values: readonly T[]): T {
  return values[Math.floor(random() * values.length)]!;
}

/** A value for one parameter: plausible, a valid enum member, or (at `hostility`) hostile. */
function valueFor(name: string, schema: JsonSchemaLike, random: () => number, hostility: number): unknown {
  if (random() >= hostility) {
    if (PLAUSIBLE[name]) return pick(random, PLAUSIBLE[name]);
    if (schema.enum) return pick(random, schema.enum);
    if (schema.type === 'boolean') return random() < 0.5;
  }
  const roll = random();
  if (roll < 0.35 && PLAUSIBLE[name]) return pick(random, PLAUSIBLE[name]);
  if (roll < 0.45 && schema.enum) return pick(random, schema.enum);
  if (roll < 0.5 && schema.type === 'boolean') return random() < 0.5;
  if (roll < 0.55 && schema.type === 'object') return { custom: pick(random, HOSTILE) };
  if (roll < 0.6 && schema.type === 'array') return [pick(random, HOSTILE)];
  return pick(random, HOSTILE);
}

export interface FuzzCall {
  name: string;
  arguments: Record<string, unknown>;
}

/** `count` calls spread over `tools`, each argument present, absent, plausible or hostile. */
export function* hostileCalls(tools: readonly Tool[], count: number, seed: number): Generator<FuzzCall> {
  const random = seededRandom(seed);
  for (let i = 0; i < count; i++) {
    const tool = tools[i % tools.length]!;
    const schema = tool.inputSchema as JsonSchemaLike;
    const args: Record<string, unknown> = {};
    // Half the calls are hostile throughout; the others mostly plausible, so they reach the handlers.
    const hostility = random() < 0.5 ? 0.6 : 0.1;
    for (const [name, property] of Object.entries(schema.properties ?? {})) {
      const required = schema.required?.includes(name) ?? false;
      if (!required && random() < 0.4) continue;
      if (required && random() < 0.05) continue;
      args[name] = valueFor(name, property, random, hostility);
    }
    if (random() < 0.05) {
      // An own property even for `__proto__`, as JSON.parse makes it from the wire.
      Object.defineProperty(args, pick(random, ['extra', '__proto__', 'constructor']), {
        value: pick(random, HOSTILE),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    // Through JSON, as over stdio or HTTP: the in-memory transport would hand objects over as they are.
    yield JSON.parse(JSON.stringify({ name: tool.name, arguments: args })) as FuzzCall;
  }
}

/** What no result may show: the reasons a call failed the fuzz, empty when it is fine. */
export function problemsOf(text: string, secrets: readonly string[]): string[] {
  const found: string[] = [];
  if (text.trim() === '') found.push('no message');
  if (/internal error/i.test(text)) found.push('internal error');
  if (/Output validation error/i.test(text)) found.push('output validation error');
  if (/\n\s+at \S+ \(|\bat (?:file|node):|node:internal\//.test(text)) found.push('stack trace');
  if (/\b(?:URIError|TypeError|RangeError|ReferenceError|SyntaxError)\b/.test(text))
    found.push('raw JS error');
  if (/\b(?:ELOOP|ENAMETOOLONG|EACCES|EISDIR|ENOTDIR|EINVAL):/.test(text)) found.push('raw OS error');
  if (/\[object Object\]/.test(text)) found.push('[object Object]');
  if (/JSESSIONID=(?!\[redacted\])[^;\s]+|Basic [A-Za-z0-9+/]{12,}={0,2}/.test(text))
    found.push('session or auth header');
  for (const secret of secrets) if (text.includes(secret)) found.push('credential');
  return found;
}

/** A PNG's or GIF's size in pixels, from its header. */
function pixelsOf(base64: string): { width: number; height: number } {
  const head = Buffer.from(base64.slice(0, 64), 'base64');
  if (head.toString('latin1', 1, 4) === 'PNG')
    return { width: head.readUInt32BE(16), height: head.readUInt32BE(20) };
  if (head.toString('latin1', 0, 3) === 'GIF')
    return { width: head.readUInt16LE(6), height: head.readUInt16LE(8) };
  throw new Error('an image that is neither PNG nor GIF');
}

/** What the content costs in characters: text and links as sent, images by their pixels (imageTokens). */
export function contentCost(content: CallToolResult['content']): number {
  let chars = 0;
  for (const part of content) {
    if (part.type === 'image') {
      const { width, height } = pixelsOf(part.data);
      chars += imageTokens(width, height) * 4;
    } else chars += JSON.stringify(part).length;
  }
  return chars;
}
