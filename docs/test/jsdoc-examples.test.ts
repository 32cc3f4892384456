// The `@example` blocks of the packages' JSDoc are shown on the API reference pages: each one is type-checked against
// the sources. Every block is written to a file of its own inside the docs project, with an import of each public
// module (`import { ConflictRegistry } from "@concord/core"`) and each Effect module it names, unless the block brings
// its imports itself, and the files are compiled together. A block that shows a compile error on purpose says so with
// `// @ts-expect-error`. Unused names are allowed: an example may define something only to show it.
import { ConflictRegistry } from "@concord/core"
import { Events } from "@concord/example-crm"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import ts from "typescript"

const root = fileURLToPath(new URL("../..", import.meta.url))
const packagesDir = path.join(root, "packages")
const outDir = path.join(root, "docs", "build", "jsdoc-examples")

interface PublicModule {
  readonly packageName: string
  readonly file: string
  /** `export * as Name`: the module's name; `export *`: its exported names. */
  readonly names: ReadonlyArray<string>
}

interface Example {
  /** Where the block is, as `packages/core/src/ConflictRegistry.ts:145`. */
  readonly at: string
  readonly code: string
  /** The 1-based line of the source file where the code starts. */
  readonly line: number
}

/**
 * The modules each entry point of a package re-exports (src/index.ts for `"."`, src/vitest.ts for `"./vitest"`, ...),
 * the same ones the API reference documents.
 */
const publicModules = (): ReadonlyArray<PublicModule> =>
  fs.readdirSync(packagesDir).sort().flatMap((dir) => {
    if (!fs.existsSync(path.join(packagesDir, dir, "src", "index.ts"))) return []
    const manifest = JSON.parse(fs.readFileSync(path.join(packagesDir, dir, "package.json"), "utf8"))
    const entries = Object.entries<any>(manifest.exports ?? {}).filter(([subpath, target]) =>
      !subpath.includes("*") && typeof target?.["@concord/source"] === "string"
    )
    return entries.flatMap(([subpath, target]) => {
      const packageName = subpath === "." ? manifest.name as string : `${manifest.name}/${subpath.slice(2)}`
      const entry = path.join(packagesDir, dir, target["@concord/source"])
      return [...fs.readFileSync(entry, "utf8").matchAll(/^export \* (?:as (\w+) )?from "\.\/([\w/]+)\.js"/gm)].map(
        ([, namespace, module]) => {
          const file = path.join(packagesDir, dir, "src", `${module}.ts`)
          const names = namespace !== undefined
            ? [namespace]
            : [
              ...fs.readFileSync(file, "utf8").matchAll(
                /^export (?:declare )?(?:const|function|class|type|interface|namespace) (\w+)/gm
              )
            ].map((match) => match[1]!)
          return { packageName, file, names }
        }
      )
    })
  })

/** Every `@example` of a file's JSDoc comments: its fenced code blocks, or its whole text when it has none. */
const examplesOf = (file: string): ReadonlyArray<Example> => {
  const text = fs.readFileSync(file, "utf8")
  const relative = path.relative(root, file)
  const found: Array<Example> = []
  for (const comment of text.matchAll(/\/\*\*[\s\S]*?\*\//g)) {
    const firstLine = text.slice(0, comment.index).split("\n").length
    const lines = comment[0].split("\n").map((line) => line.replace(/^\s*\/?\*+\/?\s?/, "").replace(/\s*\*\/$/, ""))
    let tag: string | undefined
    let fence: { start: number; lines: Array<string> } | undefined
    let tagLines: Array<{ line: number; text: string }> = []
    const closeTag = () => {
      if (tag === "example" && tagLines.length > 0 && !found.some((e) => e.at === `${relative}:${tagLines[0]!.line}`)) {
        const code = tagLines.map((l) => l.text).join("\n").trim()
        if (code !== "") found.push({ at: `${relative}:${tagLines[0]!.line}`, code, line: tagLines[0]!.line })
      }
      tagLines = []
    }
    lines.forEach((line, i) => {
      const lineNumber = firstLine + i
      if (fence !== undefined) {
        if (line.trimStart().startsWith("```")) {
          if (tag === "example") {
            found.push({ at: `${relative}:${fence.start}`, code: fence.lines.join("\n"), line: fence.start + 1 })
          }
          tagLines = []
          fence = undefined
        } else fence.lines.push(line)
        return
      }
      if (/^```(ts|typescript)?\s*$/.test(line.trim())) {
        fence = { start: lineNumber, lines: [] }
        tagLines = []
        return
      }
      const opened = /^@(\w+)\s*(.*)$/.exec(line)
      if (opened !== null) {
        closeTag()
        tag = opened[1]
        if (opened[2] !== "") tagLines.push({ line: lineNumber, text: opened[2]! })
        return
      }
      if (tag === "example" && line.trim() !== "") tagLines.push({ line: lineNumber, text: line })
    })
    closeTag()
  }
  return found
}

/** The JSON blocks of a file's JSDoc comments, such as the registry document's. */
const jsonBlocksOf = (file: string): ReadonlyArray<{ readonly at: string; readonly json: string }> => {
  const text = fs.readFileSync(file, "utf8")
  return [...text.matchAll(/\/\*\*[\s\S]*?\*\//g)].flatMap((comment) =>
    [...comment[0].matchAll(/```json\n([\s\S]*?)\n\s*\*\s*```/g)].map((block) => ({
      at: `${path.relative(root, file)}:${text.slice(0, comment.index! + block.index!).split("\n").length}`,
      json: block[1]!.split("\n").map((line) => line.replace(/^\s*\* ?/, "")).join("\n")
    }))
  )
}

const modules = publicModules()
const examples = modules.flatMap((module) => examplesOf(module.file))
const jsonBlocks = modules.flatMap((module) => jsonBlocksOf(module.file))

// Effect's modules by name, but not those that share a global's name (`Array`, `Number`, ...), which an example means
// as the global.
const effectModules = Object.keys(Effect).filter((name) => /^[A-Z]/.test(name) && !(name in globalThis))

const importsFor = (code: string): string => {
  const uses = (name: string) => new RegExp(`(?<![\\w.])${name}\\b`).test(code)
  const byPackage = new Map<string, Array<string>>()
  for (const module of modules) {
    for (const name of module.names.filter(uses)) {
      byPackage.set(module.packageName, [...(byPackage.get(module.packageName) ?? []), name])
    }
  }
  const concord = new Set([...byPackage.values()].flat())
  const effect = effectModules.filter((name) => uses(name) && !concord.has(name))
  if (effect.length > 0) byPackage.set("effect", effect)
  return [...byPackage].map(([from, names]) => `import { ${names.join(", ")} } from "${from}"\n`).join("")
}

const fileOf = (example: Example, i: number) =>
  path.join(outDir, `${i}-${path.basename(example.at.split(":")[0]!, ".ts")}.ts`)

/** The compiled file's first lines are imports the test added; the rest is the example, line for line. */
const sources = examples.map((example, i) => {
  const own = /^\s*import\s/m.test(example.code)
  const prelude = own ? "" : importsFor(example.code)
  return { example, file: fileOf(example, i), prelude, text: `${prelude}${example.code}\nexport {}\n` }
})

let diagnostics: ReadonlyArray<ts.Diagnostic> = []

beforeAll(() => {
  fs.rmSync(outDir, { recursive: true, force: true })
  fs.mkdirSync(outDir, { recursive: true })
  for (const source of sources) fs.writeFileSync(source.file, source.text)
  const base = ts.parseJsonConfigFileContent(
    JSON.parse(fs.readFileSync(path.join(root, "tsconfig.base.json"), "utf8")),
    ts.sys,
    root
  )
  const options: ts.CompilerOptions = {
    ...base.options,
    noEmit: true,
    composite: false,
    incremental: false,
    declaration: false,
    declarationMap: false,
    noUnusedLocals: false,
    noUnusedParameters: false
  }
  const program = ts.createProgram({ rootNames: sources.map((s) => s.file), options })
  diagnostics = ts.getPreEmitDiagnostics(program)
}, 120_000)

afterAll(() => fs.rmSync(outDir, { recursive: true, force: true }))

describe("the JSDoc examples", () => {
  it("are found in the public modules", () => {
    expect(modules.map((module) => path.relative(root, module.file))).toContain("packages/core/src/ConflictRegistry.ts")
    expect(examples.filter((example) => example.at.startsWith("packages/core/src/ConflictRegistry.ts:")).length)
      .toBeGreaterThan(0)
  })

  it("report nothing outside the examples", () => {
    const files = new Set(sources.map((s) => s.file))
    const elsewhere = diagnostics.filter((d) => d.file === undefined || !files.has(path.resolve(d.file.fileName)))
    expect(elsewhere.map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"))).toEqual([])
  })

  it("include the registry document's JSON", () => {
    expect(jsonBlocks.map((block) => block.at.split(":")[0])).toContain("packages/core/src/ConflictRegistry.ts")
  })

  it.each(jsonBlocks.map((block) => [block.at, block] as const))(
    "%s: the JSON block parses, and a registry document decodes with the example domain's Schema",
    (_, block) => {
      const value = JSON.parse(block.json)
      if (typeof value === "object" && value !== null && "rules" in value) {
        const decoded = ConflictRegistry.fromDocument(value, Events.CrmEvent)
        expect(decoded._tag === "Left" ? decoded.left.message : "decoded").toBe("decoded")
      }
    }
  )

  it.each(sources.map((source) => [source.example.at, source] as const))("%s type-checks", (_, source) => {
    const preludeLines = source.prelude === "" ? 0 : source.prelude.split("\n").length - 1
    const errors = diagnostics
      .filter((d) => d.file !== undefined && path.resolve(d.file.fileName) === source.file)
      .map((d) => {
        const { line } = d.file!.getLineAndCharacterOfPosition(d.start ?? 0)
        const at = `${source.example.at.split(":")[0]}:${source.example.line + line - preludeLines}`
        return `${at}: TS${d.code} ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`
      })
    expect(errors, `${source.prelude}${source.example.code}`).toEqual([])
  })
})
