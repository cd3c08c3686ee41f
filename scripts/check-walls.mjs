#!/usr/bin/env node
/**
 * The walls between the layers of src/ (docs/CONTRIBUTING.md): which folder may import which, and no
 * import cycles. Only relative imports of our own code count (node: and npm packages are free);
 * type-only imports count too, since they tie a layer to another's shapes just the same.
 *
 *   node scripts/check-walls.mjs [srcDir]
 *
 * srcDir defaults to ./src (tests point it at fixture trees).
 */
import { readFileSync, readdirSync, existsSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';

const SOURCE = /\.(ts|mts|cts|tsx)$/;

/** Where a file sits. `unit` tells tool modules apart: src/tools/x.ts or src/tools/x/** is one module. */
function layerOf(file) {
  const parts = file.split('/');
  const [top, second] = parts;
  if (parts.length === 1) {
    const entry = {
      'cli.ts': 'cli',
      'server.ts': 'server',
      'index.ts': 'library entry',
      'version.ts': 'version',
    }[top];
    return entry ? { layer: entry } : { layer: 'unplaced' };
  }
  if (top === 'tools') {
    if (parts.length === 2 && second === 'index.ts') return { layer: 'catalogue' };
    return { layer: 'tool', unit: `tools/${second.replace(SOURCE, '')}` };
  }
  const folders = {
    client: 'client',
    sandbox: 'sandbox',
    mcp: 'mcp',
    resources: 'resources',
    transports: 'transports',
  };
  return { layer: folders[top] ?? 'unplaced' };
}

/** What each layer may import, and the reason printed when it does not keep to it. */
const RULES = {
  client: {
    may: ['client'],
    why: 'the client core imports nothing of ours outside src/client (it knows nothing of MCP)',
  },
  sandbox: {
    may: ['sandbox'],
    why: 'the sandbox imports nothing of ours outside src/sandbox (the fake XNAT never shares code with the client it checks)',
  },
  mcp: { may: ['mcp', 'client'], why: 'src/mcp imports only src/mcp and src/client' },
  tool: { may: ['mcp', 'client'], why: 'tools import only src/mcp and src/client' },
  catalogue: {
    may: ['tool', 'mcp', 'client'],
    why: 'the catalogue src/tools/index.ts imports only tool modules, src/mcp and src/client',
  },
  resources: {
    may: ['resources', 'mcp', 'client'],
    why: 'resources import only src/mcp and src/client (never tools or transports)',
  },
  transports: {
    may: ['transports', 'server', 'mcp', 'client', 'version'],
    why: 'transports import only src/server.ts, src/mcp, src/client and src/version.ts',
  },
  server: {
    may: ['catalogue', 'resources', 'mcp', 'client', 'version'],
    why: 'src/server.ts imports only src/tools/index.ts (never a tool module), src/resources, src/mcp, src/client and src/version.ts',
  },
  'library entry': {
    may: ['client'],
    why: 'the library entry src/index.ts exports the client core only (no MCP)',
  },
  version: { may: ['client'], why: 'src/version.ts imports nothing of ours but src/client' },
  cli: { may: 'everything', why: '' },
};

function edgeProblem(from, to) {
  const a = layerOf(from);
  const b = layerOf(to);
  if (a.layer === 'unplaced') return null; // reported once per file, not per import
  if (b.layer === 'unplaced') return `${to} belongs to no layer`;
  if (a.layer === 'tool' && b.layer === 'tool') {
    return a.unit === b.unit ? null : 'tools never import each other; move the shared part to src/mcp';
  }
  if (a.layer === 'resources' && b.layer === 'tool') {
    return 'resources and tools never import each other; move the shared part to src/mcp';
  }
  if (a.layer === 'tool' && b.layer === 'resources') {
    return 'tools and resources never import each other; move the shared part to src/mcp';
  }
  const rule = RULES[a.layer];
  if (rule.may === 'everything' || rule.may.includes(b.layer)) return null;
  return rule.why;
}

function listSources(dir, root, out = []) {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) listSources(path, root, out);
    else if (SOURCE.test(name) && !name.endsWith('.d.ts'))
      out.push(relative(root, path).split(sep).join('/'));
  }
  return out;
}

/**
 * Every module specifier: import/export ... from, import x = require(), import(), import('x') types.
 * `typeOnly` marks what the compiler erases (`import type`, `export type`, import types), for messages.
 */
function specifiers(path) {
  const text = readFileSync(path, 'utf8');
  const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, false);
  const found = [];
  const visit = (node) => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      found.push({ text: node.moduleSpecifier.text, typeOnly: node.importClause?.isTypeOnly ?? false });
    } else if (
      ts.isExportDeclaration(node) &&
      node.moduleSpecifier &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      found.push({ text: node.moduleSpecifier.text, typeOnly: node.isTypeOnly });
    } else if (ts.isExternalModuleReference(node) && ts.isStringLiteral(node.expression)) {
      found.push({ text: node.expression.text, typeOnly: false });
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [arg] = node.arguments;
      if (arg && ts.isStringLiteralLike(arg)) found.push({ text: arg.text, typeOnly: false });
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      const literal = node.argument.literal;
      if (ts.isStringLiteral(literal)) found.push({ text: literal.text, typeOnly: true });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** `./x.js` in a .ts file means ./x.ts (NodeNext); returns a path relative to root, or null outside it. */
function resolveSpecifier(root, from, specifier) {
  if (!specifier.startsWith('./') && !specifier.startsWith('../')) return null;
  const absolute = resolve(root, dirname(from), specifier);
  const candidates = [
    absolute
      .replace(/\.js$/, '.ts')
      .replace(/\.mjs$/, '.mts')
      .replace(/\.cjs$/, '.cts'),
    absolute.replace(/\.js$/, '.tsx'),
    absolute,
    `${absolute}.ts`,
    join(absolute, 'index.ts'),
  ];
  const target = candidates.find((c) => existsSync(c) && statSync(c).isFile()) ?? candidates[0];
  const rel = relative(root, target);
  if (rel.startsWith('..') || rel === '') return null; // package.json and the like: not code of a layer
  return rel.split(sep).join('/');
}

/** Tarjan's strongly connected components; each one of more than one file (or a self-import) holds a cycle. */
function cycles(graph) {
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const found = [];
  let next = 0;
  const strongConnect = (v) => {
    index.set(v, next);
    low.set(v, next);
    next += 1;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        strongConnect(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v), index.get(w)));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component = [];
      let w;
      do {
        w = stack.pop();
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? new Set()).has(v)) found.push(component.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) strongConnect(v);
  return found.map((component) => shortestCycle(graph, component));
}

/** A shortest cycle through the first file of a component, for a message a person can follow. */
function shortestCycle(graph, component) {
  const members = new Set(component);
  const start = component[0];
  const previous = new Map();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift();
    for (const w of [...(graph.get(v) ?? [])].sort()) {
      if (!members.has(w)) continue;
      if (w === start) {
        const path = [v];
        while (path[0] !== start) path.unshift(previous.get(path[0]));
        return { files: component, path: [...path, start] };
      }
      if (!previous.has(w)) {
        previous.set(w, v);
        queue.push(w);
      }
    }
  }
  return { files: component, path: [start, start] };
}

/** "a -> b -(type)-> a": type-only steps are marked, since moving a type is often the whole fix. */
function describeCycle({ files, path }, shown, valueEdges) {
  const steps = path.map((file, i) => {
    if (i === 0) return shown(file);
    return `${valueEdges.has(`${path[i - 1]} ${file}`) ? '->' : '-(type)->'} ${shown(file)}`;
  });
  const more = files.length - (path.length - 1);
  const rest = more > 0 ? ` (and ${more} more files in the same cycle)` : '';
  return `import cycle: ${steps.join(' ')}${rest}; break it by moving the shared part down a layer`;
}

/**
 * Checks the tree under srcDir. Returns violations as { key, message }: `key` names one violation
 * ("src/a.ts -> src/b.ts", "cycle: src/a.ts src/b.ts", "unplaced: src/x.ts").
 */
export function checkWalls(srcDir) {
  const root = resolve(srcDir);
  const shown = (file) => `${basename(root)}/${file}`;
  const files = listSources(root, root);
  const graph = new Map(files.map((f) => [f, new Set()]));
  const valueEdges = new Set();
  const violations = [];
  for (const file of files) {
    if (layerOf(file).layer === 'unplaced') {
      violations.push({
        key: `unplaced: ${shown(file)}`,
        message: `${shown(file)} belongs to no layer: put it in src/client, src/mcp, src/tools, src/resources, src/transports or src/sandbox (or give it a rule in scripts/check-walls.mjs)`,
      });
    }
    for (const { text, typeOnly } of specifiers(join(root, file))) {
      const target = resolveSpecifier(root, file, text);
      if (target === null) continue;
      graph.get(file)?.add(target);
      // An edge is type-only when every import of it is.
      if (!typeOnly) valueEdges.add(`${file} ${target}`);
      const problem = edgeProblem(file, target);
      if (problem) {
        violations.push({
          key: `${shown(file)} -> ${shown(target)}`,
          message: `${shown(file)} imports ${shown(target)}: ${problem}`,
        });
      }
    }
  }
  for (const cycle of cycles(graph)) {
    violations.push({
      key: `cycle: ${cycle.files.map(shown).join(' ')}`,
      message: describeCycle(cycle, shown, valueEdges),
    });
  }
  // The same import written twice in one file is one violation.
  const seen = new Set();
  return violations.filter((v) => !seen.has(v.key) && seen.add(v.key));
}

function main(argv) {
  const srcDir = argv[0] ?? 'src';
  const violations = checkWalls(srcDir);
  for (const v of violations) console.error(v.message);
  if (violations.length > 0) {
    console.error(
      `walls: ${violations.length} violation${violations.length === 1 ? '' : 's'} (rules: docs/CONTRIBUTING.md#walls)`,
    );
    return 1;
  }
  console.log(`walls: ${srcDir} keeps to its layers, no import cycles`);
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = main(process.argv.slice(2));
}
