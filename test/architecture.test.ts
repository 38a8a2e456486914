/**
 * The import graph of src/, read by madge: no file imports itself back through other files, the folders form
 * layers (no folder-level cycle), and the frozen-base runtime depends only on errors and internal helpers. The graph
 * is drawn in docs/architecture.md.
 */
import madge from 'madge';
import { beforeAll, describe, expect, it } from 'vitest';

/** A file's unit: its top folder under src/, or the file itself at the root (`errors.ts`, `index.ts`). */
const unitOf = (file: string): string => (file.includes('/') ? (file.split('/')[0] as string) : file.replace(/\.ts$/, ''));

async function graph(): Promise<{ files: Record<string, string[]>; circular: string[][] }> {
  const result = await madge('src', { fileExtensions: ['ts'], tsConfig: 'tsconfig.json' });
  return { files: result.obj(), circular: result.circular() };
}

/** Folder-level edges (A imports B, A != B). */
function unitEdges(files: Record<string, string[]>): Map<string, Set<string>> {
  const edges = new Map<string, Set<string>>();
  for (const [file, deps] of Object.entries(files)) {
    for (const dep of deps) {
      const a = unitOf(file);
      const b = unitOf(dep);
      if (a !== b) edges.set(a, (edges.get(a) ?? new Set()).add(b));
    }
  }
  return edges;
}

/** The cycles of a directed graph, each as a path that returns to its start. */
function cyclesOf(edges: Map<string, Set<string>>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): void => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of edges.get(node) ?? []) {
      if (state.get(next) === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next]);
      else if (state.get(next) === undefined) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of edges.keys()) if (state.get(node) === undefined) visit(node);
  return cycles;
}

describe('architecture', () => {
  let read: Awaited<ReturnType<typeof graph>>;
  beforeAll(async () => {
    read = await graph(); // one parse of src/ (a few seconds) for every check
  });

  it('has no import cycle between files under src/', () => {
    expect(read.circular).toEqual([]);
  });

  it('has no import cycle between folders: each layer imports only layers below it', () => {
    expect(cyclesOf(unitEdges(read.files))).toEqual([]);
  });

  it('keeps the frozen-base runtime independent: runtime/ imports only errors and internal/', () => {
    expect([...(unitEdges(read.files).get('runtime') ?? [])].sort()).toEqual(['errors', 'internal']);
  });

  it('finds a cycle when there is one (the check itself works)', () => {
    const edges = new Map([
      ['models', new Set(['runtime'])],
      ['runtime', new Set(['internal', 'models'])],
    ]);
    expect(cyclesOf(edges)).toEqual([['models', 'runtime', 'models']]);
  });
});
