// Generates the API reference pages from the JSDoc of every package's public modules, with the TypeScript compiler
// API: each package's src/index.ts re-exports its modules as namespaces, and every export carries @since and
// @category. The pages are written under docs/api/ (gitignored) whenever VitePress loads its config.
import * as fs from "node:fs"
import * as path from "node:path"
import ts from "typescript"
import type { DefaultTheme } from "vitepress"

/** One documented export: every declaration of the name (a const and a type may share it). */
interface ApiExport {
  readonly name: string
  readonly category: string
  readonly since: string | undefined
  readonly description: string
  readonly examples: ReadonlyArray<string>
  readonly signatures: ReadonlyArray<string>
}

interface ApiModule {
  readonly packageName: string
  readonly packageDir: string
  readonly name: string
  /** Re-exported as a namespace (`export * as Name`) rather than name by name (`export *`). */
  readonly namespace: boolean
  readonly link: string
  readonly description: string
  readonly exports: ReadonlyArray<ApiExport>
}

interface ApiPackage {
  readonly name: string
  readonly dir: string
  readonly description: string
  readonly modules: ReadonlyArray<ApiModule>
}

// -----------------------------------------------------------------------------
// JSDoc
// -----------------------------------------------------------------------------

interface Doc {
  readonly description: string
  readonly tags: ReadonlyArray<{ readonly tag: string; readonly text: string }>
}

/** Splits a raw JSDoc comment into its description and its tags, leaving fenced code inside them untouched. */
const parseDoc = (raw: string): Doc => {
  const lines = raw
    .replace(/^\/\*\*/, "")
    .replace(/\*\/$/, "")
    .split("\n")
    .map((line) => line.replace(/^\s*\* ?/, "").replace(/^\s*$/, ""))
  const description: Array<string> = []
  const tags: Array<{ tag: string; lines: Array<string> }> = []
  let fenced = false
  for (const line of lines) {
    const tag = fenced ? null : /^@(\w+)\s*(.*)$/.exec(line)
    if (line.trimStart().startsWith("```")) fenced = !fenced
    if (tag !== null) tags.push({ tag: tag[1]!, lines: tag[2] === "" ? [] : [tag[2]!] })
    else if (tags.length > 0) tags[tags.length - 1]!.lines.push(line)
    else description.push(line)
  }
  return {
    description: description.join("\n").trim(),
    tags: tags.map(({ lines, tag }) => ({ tag, text: lines.join("\n").trim() }))
  }
}

const emptyDoc: Doc = { description: "", tags: [] }

const docOf = (node: ts.Node, sourceFile: ts.SourceFile): Doc => {
  const docs = ts.getJSDocCommentsAndTags(node).filter(ts.isJSDoc)
  const last = docs[docs.length - 1]
  return last === undefined ? emptyDoc : parseDoc(sourceFile.text.slice(last.pos, last.end))
}

const tagText = (doc: Doc, tag: string): string | undefined => doc.tags.find((t) => t.tag === tag)?.text

/** The file's own comment: its first JSDoc, provided it documents the module rather than an export. */
const moduleDoc = (sourceFile: ts.SourceFile): Doc => {
  const first = sourceFile.statements[0]
  if (first === undefined) return emptyDoc
  for (const range of ts.getLeadingCommentRanges(sourceFile.text, first.getFullStart()) ?? []) {
    const text = sourceFile.text.slice(range.pos, range.end)
    if (!text.startsWith("/**")) continue
    const doc = parseDoc(text)
    return tagText(doc, "category") === undefined ? doc : emptyDoc
  }
  return emptyDoc
}

// -----------------------------------------------------------------------------
// signatures
// -----------------------------------------------------------------------------

const withoutExport = (text: string): string => text.replace(/^export\s+(declare\s+)?/, "")

/** Re-indents a multi-line slice of source so that its continuation lines keep their shape. */
const dedentTail = (text: string, column: number): string =>
  text.split("\n").map((line, i) => i === 0 ? line : line.slice(Math.min(column, line.search(/\S|$/)))).join("\n")

/** A node's source, its continuation lines dedented by the indentation of the line it starts on. */
const sourceText = (node: ts.Node, sourceFile: ts.SourceFile, end = node.end): string => {
  const start = node.getStart(sourceFile)
  const line = sourceFile.getLineAndCharacterOfPosition(start).line
  const lineStart = sourceFile.getPositionOfLineAndCharacter(line, 0)
  const indentation = sourceFile.text.slice(lineStart, start).search(/\S|$/)
  return dedentTail(sourceFile.text.slice(start, end).trimEnd(), indentation)
}

/** A parameter as a signature shows it: a default value makes it optional. */
const parameterText = (parameter: ts.ParameterDeclaration, checker: ts.TypeChecker, sourceFile: ts.SourceFile) => {
  const rest = parameter.dotDotDotToken === undefined ? "" : "..."
  const optional = parameter.questionToken !== undefined || parameter.initializer !== undefined ? "?" : ""
  const type = parameter.type !== undefined
    ? sourceText(parameter.type, sourceFile)
    : checker.typeToString(checker.getTypeAtLocation(parameter), parameter)
  return `${rest}${parameter.name.getText(sourceFile)}${optional}: ${type}`
}

const functionSignature = (
  fn: ts.ArrowFunction | ts.FunctionExpression,
  checker: ts.TypeChecker,
  sourceFile: ts.SourceFile
): string => {
  const typeParameters = fn.typeParameters === undefined
    ? ""
    : `<${fn.typeParameters.map((p) => p.getText(sourceFile)).join(", ")}>`
  const parameters = fn.parameters.map((p) => parameterText(p, checker, sourceFile))
  const signature = checker.getSignatureFromDeclaration(fn)
  const returnType = fn.type !== undefined
    ? sourceText(fn.type, sourceFile)
    : signature === undefined
    ? "unknown"
    : checker.typeToString(checker.getReturnTypeOfSignature(signature), fn)
  const oneLine = `${typeParameters}(${parameters.join(", ")}) => ${returnType}`
  if (oneLine.length <= 100 && !oneLine.includes("\n")) return oneLine
  const indented = parameters.map((p) => "  " + p.replace(/\n/g, "\n  "))
  return `${typeParameters}(\n${indented.join(",\n")}\n) => ${returnType}`
}

const signatureOf = (declaration: ts.Declaration, checker: ts.TypeChecker, sourceFile: ts.SourceFile): string => {
  if (ts.isVariableDeclaration(declaration)) {
    const name = declaration.name.getText(sourceFile)
    if (declaration.type !== undefined) return `const ${name}: ${sourceText(declaration.type, sourceFile)}`
    const init = declaration.initializer
    if (init !== undefined && (ts.isArrowFunction(init) || ts.isFunctionExpression(init))) {
      return `const ${name}: ${functionSignature(init, checker, sourceFile)}`
    }
    // A Schema or a value built by a combinator reads best as its definition.
    return init === undefined ? `const ${name}` : `const ${name} = ${sourceText(init, sourceFile)}`
  }
  if (ts.isFunctionDeclaration(declaration)) {
    return withoutExport(sourceText(declaration, sourceFile, declaration.body?.getStart(sourceFile)))
  }
  if (ts.isClassDeclaration(declaration)) {
    const header = withoutExport(sourceText(declaration, sourceFile, declaration.members.pos)).replace(/\{$/, "")
      .trimEnd()
    const members = declaration.members
      .filter((member) =>
        !(ts.getCombinedModifierFlags(member) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected))
      )
      .map((member) => {
        const body = "body" in member ? (member.body as ts.Node | undefined) : undefined
        return "  " + sourceText(member, sourceFile, body?.getStart(sourceFile)).replace(/;$/, "")
      })
    return members.length === 0 ? `${header} {}` : `${header} {\n${members.join("\n")}\n}`
  }
  return withoutExport(sourceText(declaration, sourceFile))
}

// -----------------------------------------------------------------------------
// collecting
// -----------------------------------------------------------------------------

const collectExport = (symbol: ts.Symbol, checker: ts.TypeChecker): ApiExport | undefined => {
  const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol
  const declarations = target.declarations ?? []
  if (declarations.length === 0) return undefined
  const docs = declarations.map((d) => docOf(d, d.getSourceFile()))
  if (docs.some((doc) => tagText(doc, "internal") !== undefined)) return undefined
  const described = docs.find((doc) => doc.description !== "") ?? docs[0]!
  const categorised = docs.find((doc) => tagText(doc, "category") !== undefined) ?? described
  return {
    name: symbol.getName(),
    category: tagText(categorised, "category") ?? "utils",
    since: docs.map((doc) => tagText(doc, "since")).find((since) => since !== undefined),
    description: described.description,
    examples: docs.flatMap((doc) => doc.tags.filter((t) => t.tag === "example").map((t) => t.text)),
    signatures: declarations.map((d) => signatureOf(d, checker, d.getSourceFile()))
  }
}

const sourcePosition = (symbol: ts.Symbol, checker: ts.TypeChecker): number => {
  const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol
  return target.declarations?.[0]?.getStart() ?? 0
}

const readJson = (file: string): any => JSON.parse(fs.readFileSync(file, "utf8"))

/** Every package under packages/ with a src/index.ts, its modules and their documented exports. */
const collect = (root: string): ReadonlyArray<ApiPackage> => {
  const packagesDir = path.join(root, "packages")
  // The README's order: the core first, the example last; packages it does not name go in between.
  const order = ["core", "testing", "sql", "server", "example-crm"]
  const rank = (dir: string) => order.includes(dir) ? order.indexOf(dir) : order.length - 1.5
  const dirs = fs.readdirSync(packagesDir)
    .filter((dir) => fs.existsSync(path.join(packagesDir, dir, "src", "index.ts")))
    .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b))
  const base = ts.parseJsonConfigFileContent(readJson(path.join(root, "tsconfig.base.json")), ts.sys, root)
  const program = ts.createProgram({
    rootNames: dirs.map((dir) => path.join(packagesDir, dir, "src", "index.ts")),
    options: { ...base.options, noEmit: true, composite: false, incremental: false, declaration: false }
  })
  const checker = program.getTypeChecker()
  return dirs.map((dir): ApiPackage => {
    const manifest = readJson(path.join(packagesDir, dir, "package.json"))
    const index = program.getSourceFile(path.join(packagesDir, dir, "src", "index.ts"))!
    const indexSymbol = checker.getSymbolAtLocation(index)!
    const modules = new Map<
      string,
      { name: string; namespace: boolean; file: ts.SourceFile; symbols: Array<ts.Symbol> }
    >()
    for (const exported of checker.getExportsOfModule(indexSymbol)) {
      const target = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported
      const declaration = target.declarations?.[0]
      if (declaration === undefined) continue
      if (ts.isSourceFile(declaration)) {
        // `export * as Name from "./Name.js"`: a namespace module.
        modules.set(declaration.fileName, {
          name: exported.getName(),
          namespace: true,
          file: declaration,
          symbols: [...checker.getExportsOfModule(target)]
        })
      } else {
        // `export * from "./File.js"`: the exports join a module named after their file.
        const file = declaration.getSourceFile()
        const entry = modules.get(file.fileName) ??
          { name: path.basename(file.fileName, ".ts"), namespace: false, file, symbols: [] as Array<ts.Symbol> }
        entry.symbols.push(exported)
        modules.set(file.fileName, entry)
      }
    }
    return {
      name: manifest.name,
      dir,
      description: manifest.description ?? "",
      modules: Array.from(modules.values())
        .sort((a, b) => a.name.localeCompare(b.name))
        .map(({ file, name, namespace, symbols }): ApiModule => ({
          packageName: manifest.name,
          packageDir: dir,
          name,
          namespace,
          link: `/api/${dir}/${name}`,
          description: moduleDoc(file).description,
          exports: symbols
            .sort((a, b) => sourcePosition(a, checker) - sourcePosition(b, checker))
            .flatMap((symbol) => collectExport(symbol, checker) ?? [])
        }))
    }
  })
}

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
    ? `import { ${module.name} } from "${module.packageName}"`
    : `import { ${module.exports.map((e) => e.name).join(", ")} } from "${module.packageName}"`
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
    "Generated from the JSDoc of every package's public modules when the site is built. Each package's",
    "`src/index.ts` re-exports its modules as namespaces, so `import { ConflictRegistry } from \"@concord/core\"`",
    "gives the functions of the `ConflictRegistry` module below as `ConflictRegistry.make`, `ConflictRegistry.never`,",
    "and so on.",
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

const writeIfChanged = (file: string, content: string): void => {
  if (fs.existsSync(file) && fs.readFileSync(file, "utf8") === content) return
  fs.mkdirSync(path.dirname(file), { recursive: true })
  fs.writeFileSync(file, content)
}

/**
 * Writes docs/api/ from the sources under `root` (the repository) and returns the reference's sidebar. Files are
 * rewritten only when their content changes, and pages of modules that no longer exist are removed.
 */
export const writeApiReference = (root: string, outDir: string): Array<DefaultTheme.SidebarItem> => {
  const packages = collect(root)
  const written = new Set<string>()
  const write = (relative: string, content: string) => {
    const file = path.join(outDir, relative)
    written.add(file)
    writeIfChanged(file, content)
  }
  write("index.md", indexPage(packages))
  for (const pkg of packages) {
    for (const module of pkg.modules) write(path.join(pkg.dir, `${module.name}.md`), modulePage(packages, module))
  }
  for (const entry of fs.readdirSync(outDir, { recursive: true, withFileTypes: true })) {
    const file = path.join(entry.parentPath, entry.name)
    if (entry.isFile() && !written.has(file)) fs.rmSync(file)
  }
  return packages.map((pkg) => ({
    text: pkg.name,
    collapsed: true,
    items: pkg.modules.map((module) => ({ text: module.name, link: module.link }))
  }))
}
