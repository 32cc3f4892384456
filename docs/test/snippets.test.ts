// Every code block that shows Concord code is included from docs/examples, and every inclusion names a file and a
// region that exist (VitePress would otherwise show the whole file, or a "not found" line, without failing the build).
import { describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const docs = fileURLToPath(new URL("..", import.meta.url))

const pages = (fs.readdirSync(docs, { recursive: true }) as Array<string>)
  .filter((file) => file.endsWith(".md") && !/^(api|node_modules|build|\.vitepress)\//.test(file))
  .sort()

const read = (file: string) => fs.readFileSync(path.join(docs, file), "utf8")

describe("the pages' code", () => {
  it("covers every page", () => {
    expect(pages).toEqual(expect.arrayContaining(["index.md", "why.md", "registry.md", "service.md", "benchmarks.md"]))
  })

  it.each(pages)("%s includes every snippet from a file and region that exist", (page) => {
    for (const [, target, region] of read(page).matchAll(/^<<< @\/([^#{\s]+)(?:#([\w-]+))?/gm)) {
      const file = path.join(docs, target!)
      expect(fs.existsSync(file), `${page}: ${target}`).toBe(true)
      if (region === undefined) continue
      const source = fs.readFileSync(file, "utf8")
      expect(source, `${page}: ${target}#${region}`).toMatch(new RegExp(`^\\s*// #region ${region}$`, "m"))
      expect(source, `${page}: ${target}#${region}`).toMatch(new RegExp(`^\\s*// #endregion ${region}$`, "m"))
    }
    for (const [, target] of read(page).matchAll(/<!--@include: ([^\s{]+?)(?:\{[^}]*\})?\s*-->/g)) {
      expect(fs.existsSync(path.join(docs, path.dirname(page), target!)), `${page}: ${target}`).toBe(true)
    }
  })

  it.each(pages)("%s pastes no TypeScript by hand", (page) => {
    expect(read(page)).not.toMatch(/^```(ts|typescript|js|javascript|tsx)\b/m)
  })

  it("every example file is shown on some page", () => {
    const shown = new Set(
      pages.flatMap((page) => [...read(page).matchAll(/^<<< @\/examples\/([^#{\s]+)/gm)].map((m) => m[1]!))
    )
    const examples = (fs.readdirSync(path.join(docs, "examples")) as Array<string>).filter((file) =>
      file.endsWith(".ts")
    )
    expect(examples.filter((file) => !shown.has(file))).toEqual([])
  })
})
