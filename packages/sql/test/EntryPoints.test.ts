// Each database driver is an optional peer dependency, reached only through its own entry point: an application on
// SQLite never loads (or installs) the PostgreSQL driver, and the other way round.
import { describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))
const manifest = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as {
  readonly exports: Record<string, Record<string, string>>
  readonly dependencies: Record<string, string>
  readonly peerDependencies: Record<string, string>
  readonly peerDependenciesMeta: Record<string, { readonly optional?: boolean }>
}

const drivers = ["@effect/sql-sqlite-node", "@effect/sql-pg"]

/** The packages a source file and the files it imports, transitively, import. */
const packagesImported = (file: string, seen = new Set<string>()): Set<string> => {
  const found = new Set<string>()
  if (seen.has(file)) return found
  seen.add(file)
  const text = fs.readFileSync(file, "utf8")
  for (const [, specifier] of text.matchAll(/^(?:import|export)\b[^"]*?from "([^"]+)"/gm)) {
    if (specifier!.startsWith(".")) {
      const imported = path.resolve(path.dirname(file), specifier!.replace(/\.js$/, ".ts"))
      for (const name of packagesImported(imported, seen)) found.add(name)
    } else {
      found.add(specifier!.split("/").slice(0, specifier!.startsWith("@") ? 2 : 1).join("/"))
    }
  }
  return found
}

const entry = (subpath: string) => {
  const conditions = manifest.exports[subpath]!
  return path.join(root, conditions["@concord/source"]!)
}

describe("the entry points of @concord/sql", () => {
  it("the root entry imports neither driver", () => {
    const imported = packagesImported(entry("."))
    expect(imported).toContain("@effect/sql")
    for (const driver of drivers) expect(imported).not.toContain(driver)
  })

  it("@concord/sql/sqlite imports the SQLite driver only, @concord/sql/pg the PostgreSQL driver only", () => {
    expect([...packagesImported(entry("./sqlite"))].filter((name) => drivers.includes(name))).toEqual([
      "@effect/sql-sqlite-node"
    ])
    expect([...packagesImported(entry("./pg"))].filter((name) => drivers.includes(name))).toEqual(["@effect/sql-pg"])
  })

  it("every entry point resolves to its sources under the source condition and to dist otherwise", () => {
    expect(Object.keys(manifest.exports).sort()).toEqual([".", "./pg", "./sqlite"])
    for (const [subpath, conditions] of Object.entries(manifest.exports)) {
      expect(Object.keys(conditions), subpath).toEqual(["@concord/source", "types", "default"])
      expect(fs.existsSync(path.join(root, conditions["@concord/source"]!)), subpath).toBe(true)
      const name = path.basename(conditions["@concord/source"]!, ".ts")
      expect(conditions, subpath).toEqual({
        "@concord/source": `./src/${name}.ts`,
        types: `./dist/${name}.d.ts`,
        default: `./dist/${name}.js`
      })
    }
  })

  it("the drivers are optional peer dependencies, not dependencies", () => {
    for (const driver of drivers) {
      expect(Object.keys(manifest.dependencies)).not.toContain(driver)
      expect(manifest.peerDependencies[driver]).toBeDefined()
      expect(manifest.peerDependenciesMeta[driver]).toEqual({ optional: true })
    }
  })
})
