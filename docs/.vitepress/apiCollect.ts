// Reads the public API of every package from its sources with the TypeScript compiler API: each package's
// src/index.ts re-exports its modules as namespaces, and every export carries its JSDoc with @since and @category.
import * as fs from "node:fs"
import * as path from "node:path"
import ts from "typescript"

/** One documented export: every declaration of the name (a const and a type may share it). */
export interface ApiExport {
  readonly name: string
  readonly category: string
  readonly since: string | undefined
  readonly description: string
  readonly examples: ReadonlyArray<string>
  readonly signatures: ReadonlyArray<string>
}

export interface ApiModule {
  readonly packageName: string
  /** What to import it from: the package, or one of its entry points (`@concord/sql/sqlite`). */
  readonly specifier: string
  readonly packageDir: string
  readonly name: string
  /** Re-exported as a namespace (`export * as Name`) rather than name by name (`export *`). */
  readonly namespace: boolean
  readonly link: string
  readonly description: string
  readonly exports: ReadonlyArray<ApiExport>
}

export interface ApiPackage {
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

/**
 * A package's entry points: each `exports` subpath whose `@concord/source` condition names one file, as the import
 * specifier and the source file (`"."` is the package itself, `"./sqlite"` is `@concord/sql/sqlite`).
 */
const entryPoints = (packageDir: string, manifest: any): ReadonlyArray<{ specifier: string; file: string }> =>
  Object.entries<any>(manifest.exports ?? {})
    .filter(([subpath, target]) => !subpath.includes("*") && typeof target?.["@concord/source"] === "string")
    .map(([subpath, target]) => ({
      specifier: subpath === "." ? manifest.name : `${manifest.name}/${subpath.replace(/^\.\//, "")}`,
      file: path.join(packageDir, target["@concord/source"])
    }))

/**
 * The packages a user installs (and the example domain the guide is written around, which is private), in the
 * README's order: the core first, the example last; packages it does not name go in between.
 */
const documentedPackages = (packagesDir: string) => {
  const order = ["core", "testing", "sql", "server", "example-crm"]
  const rank = (dir: string) => order.includes(dir) ? order.indexOf(dir) : order.length - 1.5
  return fs.readdirSync(packagesDir)
    .filter((dir) => fs.existsSync(path.join(packagesDir, dir, "package.json")))
    .map((dir) => ({ dir, manifest: readJson(path.join(packagesDir, dir, "package.json")) }))
    .filter(({ dir, manifest }) => manifest.private !== true || dir === "example-crm")
    .map(({ dir, manifest }) => ({ dir, manifest, entries: entryPoints(path.join(packagesDir, dir), manifest) }))
    .filter(({ entries }) => entries.length > 0)
    .sort((a, b) => rank(a.dir) - rank(b.dir) || a.dir.localeCompare(b.dir))
}

interface ModuleEntry {
  name: string
  specifier: string
  namespace: boolean
  file: ts.SourceFile
  symbols: Array<ts.Symbol>
}

/** The modules an entry point re-exports: `export * as Name` gives a namespace, `export *` joins the file's module. */
const modulesOf = (
  entry: ts.SourceFile,
  specifier: string,
  checker: ts.TypeChecker,
  modules: Map<string, ModuleEntry>
): void => {
  const entrySymbol = checker.getSymbolAtLocation(entry)
  if (entrySymbol === undefined) return
  for (const exported of checker.getExportsOfModule(entrySymbol)) {
    const target = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported
    const declaration = target.declarations?.[0]
    if (declaration === undefined) continue
    if (ts.isSourceFile(declaration)) {
      modules.set(declaration.fileName, {
        name: exported.getName(),
        specifier,
        namespace: true,
        file: declaration,
        symbols: [...checker.getExportsOfModule(target)]
      })
    } else {
      const file = declaration.getSourceFile()
      const module = modules.get(file.fileName) ??
        { name: path.basename(file.fileName, ".ts"), specifier, namespace: false, file, symbols: [] }
      module.symbols.push(exported)
      modules.set(file.fileName, module)
    }
  }
}

/** Every documented package, the modules of its entry points and their documented exports. */
export const collect = (root: string): ReadonlyArray<ApiPackage> => {
  const packagesDir = path.join(root, "packages")
  const packages = documentedPackages(packagesDir)
  const base = ts.parseJsonConfigFileContent(readJson(path.join(root, "tsconfig.base.json")), ts.sys, root)
  const program = ts.createProgram({
    rootNames: packages.flatMap(({ entries }) => entries.map((entry) => entry.file)),
    options: { ...base.options, noEmit: true, composite: false, incremental: false, declaration: false }
  })
  const checker = program.getTypeChecker()
  return packages.map(({ dir, entries, manifest }): ApiPackage => {
    const modules = new Map<string, ModuleEntry>()
    for (const entry of entries) {
      const file = program.getSourceFile(entry.file)
      if (file !== undefined) modulesOf(file, entry.specifier, checker, modules)
    }
    return {
      name: manifest.name,
      dir,
      description: manifest.description ?? "",
      modules: Array.from(modules.values())
        .sort((a, b) => a.name.localeCompare(b.name))
        .map(({ file, name, namespace, specifier, symbols }): ApiModule => ({
          packageName: manifest.name,
          packageDir: dir,
          specifier,
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
