// The compile errors the registry page shows are the ones TypeScript reports: the example file is compiled once more
// with its `@ts-expect-error` comments disarmed, and the errors must land exactly on the lines that expected them.
import { describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import ts from "typescript"

const root = fileURLToPath(new URL("../..", import.meta.url))
const example = fileURLToPath(new URL("../examples/registry.ts", import.meta.url))

const compileDisarmed = (file: string) => {
  const base = ts.parseJsonConfigFileContent(
    JSON.parse(fs.readFileSync(path.join(root, "tsconfig.base.json"), "utf8")),
    ts.sys,
    root
  )
  const options = {
    ...base.options,
    noEmit: true,
    composite: false,
    incremental: false,
    declaration: false,
    declarationMap: false
  }
  const disarmed = fs.readFileSync(file, "utf8").replaceAll("// @ts-expect-error", "// expected error:")
  const host = ts.createCompilerHost(options)
  const getSourceFile = host.getSourceFile.bind(host)
  host.getSourceFile = (name, language, ...rest) =>
    path.resolve(name) === file
      ? ts.createSourceFile(name, disarmed, language)
      : getSourceFile(name, language, ...rest)
  const program = ts.createProgram({ rootNames: [file], options, host })
  return { disarmed, diagnostics: ts.getPreEmitDiagnostics(program, program.getSourceFile(file)) }
}

describe("compile errors on the registry page", () => {
  it("each expected error is reported on its line, with the message the page shows", async () => {
    const { diagnostics, disarmed } = compileDisarmed(example)
    const lines = disarmed.split("\n")
    const expectedLines = lines.flatMap((line, i) => line.includes("// expected error:") ? [i + 2] : [])
    const global = diagnostics.filter((diagnostic) => diagnostic.file === undefined)
    expect(global.map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"))).toEqual([])
    const reported = diagnostics.map((diagnostic) => {
      const { line } = diagnostic.file!.getLineAndCharacterOfPosition(diagnostic.start!)
      return { line: line + 1, message: ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n") }
    })
    expect(reported.map((r) => r.line)).toEqual(expectedLines)
    // One file per region of the example, as the page shows them one section at a time.
    const regionAt = (line: number) =>
      lines.slice(0, line).reverse().map((text) => /\/\/ #region (\S+)/.exec(text)?.[1]).find((name) => name)!
    const regions = Array.from(new Set(reported.map((r) => regionAt(r.line))))
    expect(regions).toEqual(["typed", "exhaustive"])
    for (const region of regions) {
      const shown = reported.filter((r) => regionAt(r.line) === region)
        .map((r) => `${lines[r.line - 1]!.trim()}\n  ${r.message.replaceAll("\n", "\n  ")}`)
      await expect(shown.join("\n\n") + "\n").toMatchFileSnapshot(`../examples/output/type-errors-${region}.txt`)
    }
  }, 60_000)
})
