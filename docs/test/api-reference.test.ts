import { describe, expect, it } from "@effect/vitest"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { readPages, renderApiReference } from "../.vitepress/apiReference.js"

const docs = path.dirname(path.dirname(fileURLToPath(import.meta.url)))
// Rendered once for both tests: it reads every package's sources, seconds each time.
let rendered: ReturnType<typeof renderApiReference> | undefined
const render = () => rendered ??= renderApiReference(path.dirname(docs))

describe("API reference", () => {
  // The pages are committed so the reference reads on the repository and in a fresh clone without a site build.
  it("the committed pages under docs/api are exactly what the sources give (run `npm run docs:api` to refresh)", () => {
    const { pages } = render()
    const committed = readPages(path.join(docs, "api"))
    expect([...committed.keys()].sort()).toEqual([...pages.keys()].sort())
    for (const [page, content] of pages) expect(committed.get(page), page).toBe(content)
  }, 120_000)

  it("documents every package's modules, with a page each", () => {
    const { pages, sidebar } = render()
    expect(sidebar.map((item) => item.text)).toEqual(expect.arrayContaining(["@concord/core", "@concord/testing"]))
    expect(pages.get("core/ConflictRegistry.md")).toContain("### make {#make}")
    expect(pages.get("index.md")).toContain("[EventStore](/api/core/EventStore)")
  }, 120_000)
})
