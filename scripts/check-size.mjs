#!/usr/bin/env node
/**
 * Size limits of src/ (docs/CONTRIBUTING.md): no file over 700 lines, no function over 120 lines.
 * Long files and functions hide more than one job; split them along their seams instead.
 *
 *   node scripts/check-size.mjs [srcDir]
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';

export const MAX_FILE_LINES = 700;
export const MAX_FUNCTION_LINES = 120;

function sources(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return /\.(ts|mts|cts)$/.test(name) && !name.endsWith('.d.ts') ? [path] : [];
  });
}

function isFunction(node) {
  return (
    ts.isFunctionDeclaration(node) ||
    ts.isMethodDeclaration(node) ||
    ts.isArrowFunction(node) ||
    ts.isFunctionExpression(node) ||
    ts.isConstructorDeclaration(node) ||
    ts.isGetAccessorDeclaration(node) ||
    ts.isSetAccessorDeclaration(node)
  );
}

function functionName(node) {
  if (node.name) return node.name.getText();
  const parent = node.parent;
  if (parent && (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent)))
    return parent.name.getText();
  return '(anonymous)';
}

/** Every file and function over its limit, as one message each. */
export function checkSize(srcDir) {
  const problems = [];
  for (const path of sources(srcDir)) {
    const shown = relative(process.cwd(), path);
    const text = readFileSync(path, 'utf8');
    const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
    if (lines > MAX_FILE_LINES) {
      problems.push(`${shown}: ${lines} lines (at most ${MAX_FILE_LINES}); split it along its seams`);
    }
    const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true);
    const visit = (node) => {
      if (isFunction(node) && node.body) {
        const start = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
        const end = source.getLineAndCharacterOfPosition(node.getEnd()).line;
        const length = end - start + 1;
        if (length > MAX_FUNCTION_LINES) {
          problems.push(
            `${shown}:${start + 1}: function ${functionName(node)} has ${length} lines (at most ${MAX_FUNCTION_LINES}); split it into steps`,
          );
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return problems;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const srcDir = process.argv[2] ?? 'src';
  const problems = checkSize(srcDir);
  for (const p of problems) console.error(p);
  if (problems.length > 0) {
    console.error(`size: ${problems.length} over the limits (rules: docs/CONTRIBUTING.md#walls)`);
    process.exitCode = 1;
  } else {
    console.log(
      `size: every file in ${srcDir} is at most ${MAX_FILE_LINES} lines, every function at most ${MAX_FUNCTION_LINES}`,
    );
  }
}
