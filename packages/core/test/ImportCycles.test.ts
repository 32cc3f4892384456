// The core's modules load in one direction: no module imports, at run time, one that imports it back. Type-only
// imports are erased and do not count; `import { type A }` does (verbatimModuleSyntax keeps it as `import {}`).
import { describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import ts from "typescript"

const src = fileURLToPath(new URL("../src/", import.meta.url))

const modules = (fs.readdirSync(src, { recursive: true }) as Array<string>)
  .filter((file) => file.endsWith(".ts"))
  .map((file) => path.join(src, file))

/** The local modules a file loads at run time. */
const runtimeImports = (file: string): ReadonlyArray<string> => {
  const source = ts.createSourceFile(file, fs.readFileSync(file, "utf8"), ts.ScriptTarget.ES2022)
  const imported: Array<string> = []
  for (const statement of source.statements) {
    const erased = ts.isImportDeclaration(statement)
      ? statement.importClause?.isTypeOnly === true
      : ts.isExportDeclaration(statement)
      ? statement.isTypeOnly
      : true
    const specifier = (statement as ts.ImportDeclaration | ts.ExportDeclaration).moduleSpecifier
    if (erased || specifier === undefined || !ts.isStringLiteral(specifier)) continue
    if (!specifier.text.startsWith(".")) continue
    imported.push(path.resolve(path.dirname(file), specifier.text.replace(/\.js$/, ".ts")))
  }
  return imported
}

/** Every cycle of the graph, each as the path that closes it. */
const cycles = (graph: ReadonlyMap<string, ReadonlyArray<string>>): Array<Array<string>> => {
  const found: Array<Array<string>> = []
  const state = new Map<string, "open" | "done">()
  const visit = (module: string, trail: Array<string>) => {
    state.set(module, "open")
    for (const next of graph.get(module) ?? []) {
      if (state.get(next) === "open") found.push([...trail.slice(trail.indexOf(next)), module, next])
      else if (state.get(next) === undefined) visit(next, [...trail, module])
    }
    state.set(module, "done")
  }
  for (const module of graph.keys()) if (state.get(module) === undefined) visit(module, [])
  return found
}

describe("the core's modules", () => {
  const graph = new Map(modules.map((file) => [file, runtimeImports(file)]))

  it("import one another without a cycle at run time", () => {
    const named = cycles(graph).map((cycle) => cycle.map((file) => path.relative(src, file)).join(" → "))
    expect(named).toEqual([])
  })

  it("the check sees the store's edges (it would see a cycle through them)", () => {
    const edges = (from: string) => (graph.get(path.join(src, from)) ?? []).map((file) => path.relative(src, file))
    expect(edges("EventStore.ts")).toContain("internal/memoryStore.ts")
    expect(edges("internal/memoryStore.ts")).toContain("internal/append.ts")
    expect(edges("internal/append.ts")).toContain("internal/appendRules.ts")
    expect(edges("internal/appendRules.ts")).toContain("EventStoreError.ts")
    expect(edges("internal/appendRules.ts")).not.toContain("EventStore.ts")
    expect(cycles(new Map([["a", ["b"]], ["b", ["c"]], ["c", ["a"]]]))).toEqual([["a", "b", "c", "a"]])
  })
})
