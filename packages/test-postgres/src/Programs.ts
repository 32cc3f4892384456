/**
 * The TypeScript programs the tests start as processes of their own, bundled once per test worker with the workspace
 * sources they import (through the same `@concord/source` condition and the same esbuild transform tsx uses), the
 * other packages left to Node. Started through tsx's loader hooks instead, each process spends 1.2-1.8 s more CPU
 * loading Effect and the sources before it does anything (`concord serve` refusing a flag: 3.3 s instead of 1.6 s),
 * and the tests start dozens. Shared by the packages whose tests start processes.
 *
 * @since 0.1.0
 */
import { buildSync } from "esbuild"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("../../../", import.meta.url))
const outDir = fileURLToPath(new URL("../../build/programs/", import.meta.url))

/** Every package the workspace depends on, which Node loads from node_modules as it does under tsx. */
const external = (): ReadonlyArray<string> => {
  const manifests = [
    path.join(root, "package.json"),
    path.join(root, "docs", "package.json"),
    ...fs.readdirSync(path.join(root, "packages")).map((name) => path.join(root, "packages", name, "package.json"))
  ].filter((file) => fs.existsSync(file))
  const names = new Set(manifests.flatMap((file) => {
    const manifest = JSON.parse(fs.readFileSync(file, "utf8"))
    return [manifest.dependencies, manifest.devDependencies, manifest.peerDependencies]
      .flatMap((dependencies) => Object.keys(dependencies ?? {}))
  }))
  return [...names].filter((name) => !name.startsWith("@concord/")).flatMap((name) => [name, `${name}/*`])
}

const built = new Map<string, string>()

/**
 * The JavaScript file to run with `node` for the TypeScript program `entry`, bundled on first use in this process.
 *
 * @since 0.1.0
 * @category programs
 */
export const program = (entry: string): string => {
  const known = built.get(entry)
  if (known !== undefined) return known
  const [output] = buildSync({
    entryPoints: [entry],
    bundle: true,
    write: false,
    platform: "node",
    format: "esm",
    target: "node20",
    conditions: ["@concord/source"],
    external: [...external()],
    keepNames: true,
    logLevel: "error"
  }).outputFiles
  const hash = createHash("sha256").update(output!.contents).digest("hex").slice(0, 16)
  const file = path.join(outDir, `${path.basename(entry, ".ts")}-${hash}.mjs`)
  if (fs.existsSync(file)) {
    // Touched, so that no other run prunes it while this one uses it.
    const now = new Date()
    fs.utimesSync(file, now, now)
  } else {
    // Written aside and renamed, so a worker starting the same program at the same moment never runs half a file.
    fs.mkdirSync(outDir, { recursive: true })
    const partial = `${file}.${process.pid}.partial`
    fs.writeFileSync(partial, output!.contents)
    fs.renameSync(partial, file)
    // Bundles of sources as they were more than a day ago go.
    for (const old of fs.readdirSync(outDir)) {
      const stale = path.join(outDir, old)
      const modified = fs.statSync(stale, { throwIfNoEntry: false })?.mtimeMs ?? Date.now()
      if (Date.now() - modified > 86_400_000) fs.rmSync(stale, { force: true })
    }
  }
  built.set(entry, file)
  return file
}
