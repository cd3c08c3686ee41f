/** A minimal XML element tree and serializer for XNAT's schema documents (items, catalogs). */

export interface XmlElement {
  name: string;
  attributes: Array<[string, string]>;
  children: XmlElement[];
  text?: string;
  /**
   * XNAT's `<!--hidden_fields[...]-->` comment, which its XML writer puts first in an element whose
   * table has hidden keys (an `addParam`'s row ID and owner), on its own indented line.
   */
  hidden?: string;
}

export function element(
  name: string,
  attributes: Array<[string, string | number | undefined]> = [],
  children: XmlElement[] = [],
  text?: string,
): XmlElement {
  const present = attributes.filter((a): a is [string, string | number] => a[1] !== undefined && a[1] !== '');
  const node: XmlElement = { name, attributes: present.map(([k, v]) => [k, String(v)]), children };
  if (text !== undefined) node.text = text;
  return node;
}

/** A text-only child element, omitted when the value is empty (XNAT does not write null fields). */
export function textElement(name: string, value: string | number | undefined): XmlElement[] {
  return value === undefined || value === '' ? [] : [element(name, [], [], String(value))];
}

function escapeText(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

function escapeAttribute(text: string): string {
  return escapeText(text).replaceAll('"', '&quot;');
}

function serialize(node: XmlElement, depth: number): string {
  const pad = '\t'.repeat(depth);
  const attrs = node.attributes.map(([k, v]) => ` ${k}="${escapeAttribute(v)}"`).join('');
  if (node.hidden !== undefined && node.children.length === 0) {
    const comment = `\n${pad}\t<!--hidden_fields[${node.hidden}]-->`;
    return `${pad}<${node.name}${attrs}>${comment}${escapeText(node.text ?? '')}</${node.name}>`;
  }
  if (node.children.length === 0) {
    return node.text === undefined
      ? `${pad}<${node.name}${attrs}/>`
      : `${pad}<${node.name}${attrs}>${escapeText(node.text)}</${node.name}>`;
  }
  const inner = node.children.map((c) => serialize(c, depth + 1)).join('\n');
  const text = node.text === undefined ? '' : escapeText(node.text);
  return `${pad}<${node.name}${attrs}>${text}\n${inner}\n${pad}</${node.name}>`;
}

export function xmlDocument(root: XmlElement): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${serialize(root, 0)}\n`;
}

/** Leaves of a nested field path that XNAT's schema models as attributes (`scanner/@model`, `voxelRes/@x`). */
const ATTRIBUTE_LEAVES = new Set(['manufacturer', 'model', 'units', 'x', 'y', 'z', 'name']);

/**
 * Elements for `a/b/c`-style data_fields (`parameters/voxelRes/x`, `scanner/model`): shared prefixes
 * become nested elements, attribute-like leaves become attributes of their parent element.
 */
export function nestedElements(prefix: string, entries: Array<[string, string | number]>): XmlElement[] {
  const groups = new Map<string, Array<[string, string | number]>>();
  const texts = new Map<string, string>();
  for (const [path, value] of entries) {
    const slash = path.indexOf('/');
    if (slash < 0) {
      texts.set(path, String(value));
      if (!groups.has(path)) groups.set(path, []);
      continue;
    }
    const head = path.slice(0, slash);
    const group = groups.get(head) ?? [];
    group.push([path.slice(slash + 1), value]);
    groups.set(head, group);
  }
  const result: XmlElement[] = [];
  for (const [head, group] of groups) {
    const attributes = group.filter(([p]) => !p.includes('/') && ATTRIBUTE_LEAVES.has(p));
    const nested = group.filter(([p]) => p.includes('/') || !ATTRIBUTE_LEAVES.has(p));
    const node = element(
      `${prefix}:${head}`,
      attributes.map(([k, v]) => [k, v]),
      nestedElements(prefix, nested),
      texts.get(head),
    );
    if (node.text === undefined && node.children.length === 0 && node.attributes.length === 0) continue;
    result.push(node);
  }
  return result;
}
