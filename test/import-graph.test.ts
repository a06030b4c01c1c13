import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const SOURCES = path.resolve(import.meta.dirname, "../src");

/** Every TypeScript source file under `src/` (tests beside the code excluded). */
function sources(dir: string = SOURCES): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return sources(file);
    return entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts") ? [file] : [];
  });
}

/** The source files a file imports, type-only imports and re-exports included. */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, "utf8");
  const specifiers = [...text.matchAll(/(?:from|import)\s*\(?\s*"(\.{1,2}\/[^"]+)"/g)].map((match) => match[1]!);
  return specifiers.map((specifier) => path.resolve(path.dirname(file), specifier.replace(/\.js$/, ".ts")));
}

/** The import cycles among the files: each as the files around it, in order. */
function cycles(files: string[]): string[][] {
  const graph = new Map(files.map((file) => [file, importsOf(file).filter((target) => files.includes(target))]));
  const found: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (file: string) => {
    state.set(file, "open");
    stack.push(file);
    for (const target of graph.get(file)!) {
      if (state.get(target) === "open") found.push([...stack.slice(stack.indexOf(target)), target]);
      else if (!state.has(target)) visit(target);
    }
    stack.pop();
    state.set(file, "done");
  };
  for (const file of files) if (!state.has(file)) visit(file);
  return found.map((cycle) => cycle.map((file) => path.relative(SOURCES, file)));
}

describe("the source tree", () => {
  it("has no import cycles, type-only imports included", () => {
    const files = sources();
    expect(files.length).toBeGreaterThan(50);
    expect(cycles(files)).toEqual([]);
  });

  it("finds a cycle when there is one (the check itself)", () => {
    const dir = fs.mkdtempSync(path.join(SOURCES, "..", ".import-graph-"));
    try {
      fs.writeFileSync(path.join(dir, "a.ts"), 'import type { B } from "./b.js";\nexport type A = B;\n');
      fs.writeFileSync(path.join(dir, "b.ts"), 'import { c } from "./c.js";\nexport type B = typeof c;\n');
      fs.writeFileSync(path.join(dir, "c.ts"), 'export { type A } from "./a.js";\nexport const c = 1;\n');
      const files = ["a.ts", "b.ts", "c.ts"].map((name) => path.join(dir, name));
      expect(cycles(files).map((cycle) => cycle.map((file) => path.basename(file)))).toEqual([["a.ts", "b.ts", "c.ts", "a.ts"]]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
