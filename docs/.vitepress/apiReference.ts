// Renders the API reference pages (docs/api/) from what apiCollect.ts reads. The pages are committed, so the reference
// reads on the repository too; `npm run docs:api` rewrites them, VitePress rewrites them whenever it loads its config,
// and a docs test fails when the committed pages differ from the sources.
import * as fs from "node:fs"
import * as path from "node:path"
import type { DefaultTheme } from "vitepress"
import { type ApiModule, type ApiPackage, collect } from "./apiCollect.js"

// -----------------------------------------------------------------------------
// markdown
// -----------------------------------------------------------------------------

/**
 * Prose from JSDoc goes into a Vue template: outside code, `<` and `{{` must be escaped, and `{@link X}` becomes a
 * link when X names a documented export.
 */
const prose = (text: string, resolveLink: (target: string) => string | undefined): string => {
  let fenced = false
  return text.split("\n").map((line) => {
    if (line.trimStart().startsWith("```")) {
      fenced = !fenced
      return line
    }
    if (fenced) return line
    return line.split(/(`[^`]*`)/).map((part, i) => {
      if (i % 2 === 1) return part
      return part
        .replace(/\{@link\s+([^}|\s]+)(?:\s*\|\s*([^}]+))?\}/g, (_, target: string, label: string | undefined) => {
          const href = resolveLink(target)
          const text = `\`${label?.trim() ?? target}\``
          return href === undefined ? text : `[${text}](${href})`
        })
        .replace(/</g, "&lt;")
        .replace(/\{\{/g, "&#123;&#123;")
    }).join("")
  }).join("\n")
}

const fence = (code: string): string => {
  const ticks = code.includes("```") ? "````" : "```"
  return `${ticks}ts\n${code}\n${ticks}`
}

const linkResolver = (packages: ReadonlyArray<ApiPackage>, current: ApiModule) => (target: string) => {
  const [head, member] = target.split(".", 2) as [string, string | undefined]
  if (member === undefined && current.exports.some((e) => e.name === head)) return `#${head}`
  const sameFirst = [current.packageDir, ...packages.map((p) => p.dir).filter((dir) => dir !== current.packageDir)]
  for (const dir of sameFirst) {
    const module = packages.find((p) => p.dir === dir)!.modules.find((m) => m.name === head)
    if (module === undefined) continue
    if (member === undefined) return module.link
    if (module.exports.some((e) => e.name === member)) return `${module.link}#${member}`
  }
  return undefined
}

const modulePage = (packages: ReadonlyArray<ApiPackage>, module: ApiModule): string => {
  const resolve = linkResolver(packages, module)
  const categories = Array.from(new Set(module.exports.map((e) => e.category))).sort()
  const importLine = module.namespace
    ? `import { ${module.name} } from "${module.specifier}"`
    : `import { ${module.exports.map((e) => e.name).join(", ")} } from "${module.specifier}"`
  const sections = categories.map((category) => {
    const entries = module.exports.filter((e) => e.category === category).map((e) =>
      [
        `### ${e.name} {#${e.name}}`,
        ...e.signatures.map(fence),
        e.description === "" ? "" : prose(e.description, resolve),
        ...e.examples.map((example) => `**Example**\n\n${prose(example, resolve)}`),
        e.since === undefined ? "" : `<p class="api-since">Since ${e.since}</p>`
      ].filter((part) => part !== "").join("\n\n")
    )
    // Categories get ids of their own, apart from the exports' (the Commands module has a category and an export
    // both named decider).
    return [`## ${category} {#category-${category.replace(/\W+/g, "-")}}`, ...entries].join("\n\n")
  })
  return [
    "---",
    `title: ${module.name} · ${module.packageName}`,
    "outline: [2, 3]",
    "---",
    "",
    // An id apart from the exports' (the Registry module exports a registry).
    `# ${module.name} {#module-${module.name}}`,
    "",
    `<p class="api-package">${module.packageName}</p>`,
    "",
    fence(importLine),
    "",
    prose(module.description, resolve),
    "",
    ...sections.flatMap((section) => [section, ""])
  ].join("\n")
}

const summary = (description: string): string => {
  const firstParagraph = description.split(/\n\s*\n/)[0]?.replace(/\s+/g, " ").trim() ?? ""
  return firstParagraph
}

const indexPage = (packages: ReadonlyArray<ApiPackage>): string =>
  [
    "# API reference",
    "",
    "Generated from the JSDoc of every package's public modules by `npm run docs:api` (a test fails when these",
    "pages differ from the sources). Each package's `src/index.ts` re-exports its modules as namespaces, so",
    "`import { ConflictRegistry } from \"@concord/core\"` gives the functions of the `ConflictRegistry` module below as",
    "`ConflictRegistry.make`, `ConflictRegistry.never`, and so on.",
    "",
    ...packages.flatMap((pkg) => [
      `## ${pkg.name}`,
      "",
      pkg.description === "" ? "" : `${pkg.description}.`,
      "",
      "| module | what |",
      "| --- | --- |",
      ...pkg.modules.map((module) =>
        `| [${module.name}](${module.link}) | ${
          prose(summary(module.description), linkResolver(packages, module)).replace(/\|/g, "\\|")
        } |`
      ),
      ""
    ])
  ].join("\n")

/** The reference: its pages by path under docs/api/, and its sidebar. */
export interface ApiReference {
  readonly pages: ReadonlyMap<string, string>
  readonly sidebar: Array<DefaultTheme.SidebarItem>
}

/** Renders the reference of the packages under `root` (the repository) without writing anything. */
export const renderApiReference = (root: string): ApiReference => {
  const packages = collect(root)
  const pages = new Map<string, string>([["index.md", indexPage(packages)]])
  for (const pkg of packages) {
    for (const module of pkg.modules) pages.set(`${pkg.dir}/${module.name}.md`, modulePage(packages, module))
  }
  const sidebar = packages.map((pkg) => ({
    text: pkg.name,
    collapsed: true,
    items: pkg.modules.map((module) => ({ text: module.name, link: module.link }))
  }))
  return { pages, sidebar }
}

/** The pages under `outDir`, by path relative to it (`/` separated). */
export const readPages = (outDir: string): Map<string, string> => {
  const pages = new Map<string, string>()
  if (!fs.existsSync(outDir)) return pages
  for (const entry of fs.readdirSync(outDir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue
    const file = path.join(entry.parentPath, entry.name)
    pages.set(path.relative(outDir, file).split(path.sep).join("/"), fs.readFileSync(file, "utf8"))
  }
  return pages
}

/**
 * Writes docs/api/ from the sources under `root` and returns the reference's sidebar. Files are rewritten only when
 * their content changes, and pages of modules that no longer exist are removed.
 */
export const writeApiReference = (root: string, outDir: string): Array<DefaultTheme.SidebarItem> => {
  const { pages, sidebar } = renderApiReference(root)
  const existing = readPages(outDir)
  for (const [relative, content] of pages) {
    if (existing.get(relative) === content) continue
    const file = path.join(outDir, relative)
    fs.mkdirSync(path.dirname(file), { recursive: true })
    fs.writeFileSync(file, content)
  }
  for (const relative of existing.keys()) {
    if (pages.has(relative)) continue
    fs.rmSync(path.join(outDir, relative))
    const dir = path.dirname(path.join(outDir, relative))
    if (dir !== outDir && fs.readdirSync(dir).length === 0) fs.rmdirSync(dir)
  }
  return sidebar
}
