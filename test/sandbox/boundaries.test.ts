/**
 * The sandbox's module boundaries, read from its sources: it imports nothing of ours outside
 * src/sandbox, and what `demo` and `xnat-mcp sandbox` load never includes the test tooling
 * (fault injection, generated archives), which only the testing entry brings in.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SANDBOX = resolve(import.meta.dirname, '..', '..', 'src', 'sandbox');

/** Relative specifiers of a module's static imports and re-exports (dynamic `import()` excluded). */
function staticImports(file: string): string[] {
  const source = readFileSync(file, 'utf8');
  const found = [...source.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s+'(\.[^']+)'/gms)].map((m) => m[1]);
  found.push(...[...source.matchAll(/^import\s+'(\.[^']+)'/gm)].map((m) => m[1]));
  return found.filter((s): s is string => s !== undefined);
}

const sourceOf = (from: string, specifier: string): string =>
  resolve(dirname(from), specifier).replace(/\.js$/, '.ts');

function reachable(entry: string): Set<string> {
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const specifier of staticImports(file)) visit(sourceOf(file, specifier));
  };
  visit(join(SANDBOX, entry));
  return new Set([...seen].map((f) => relative(SANDBOX, f)));
}

describe('sandbox module boundaries', () => {
  it('imports nothing of ours outside src/sandbox', () => {
    const modules = readdirSync(SANDBOX).filter((f) => f.endsWith('.ts'));
    expect(modules.length).toBeGreaterThan(20);
    const outside = modules.flatMap((module) =>
      staticImports(join(SANDBOX, module))
        .map((specifier) => relative(SANDBOX, sourceOf(join(SANDBOX, module), specifier)))
        .filter((target) => target.startsWith('..'))
        .map((target) => `${module} -> ${target}`),
    );
    expect(outside).toEqual([]);
  });

  it('keeps fault injection and the archive generator off the serve path', () => {
    for (const entry of ['index.ts', 'cli.ts']) {
      const loaded = reachable(entry);
      expect(loaded).toContain('server.ts');
      expect(loaded).not.toContain('faults.ts');
      expect(loaded).not.toContain('generate.ts');
    }
    const testing = reachable('testing.ts');
    expect(testing).toContain('faults.ts');
    expect(testing).toContain('generate.ts');
  });
});
