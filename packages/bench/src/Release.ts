// The release before the read side, the contender appends are compared with so that they do not get slower: Concord
// as it was at one commit, built from the project's own git history. Like Emmett (Contenders.ts) it is installed on
// demand into the bench's cache, packages/bench/.contenders/concord-<commit> (gitignored): `git archive` of that
// commit's packages/core and packages/sql, unchanged, linked as @concord/core and @concord/sql in the cache's own
// node_modules, so that the old SQL store imports the old core. The bench runs it from its TypeScript sources (the
// `@concord/source` export condition, through tsx), exactly as it runs the current code, so neither side pays for a
// build the other skips; both use the workspace's effect, @effect/sql and drivers.
import type { Context, Effect, Layer } from "effect"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { pathToFileURL } from "node:url"

/** The last commit before the read side: Concord as released before it. */
export const commit = "0d361c3c2cd6946f13cdfdf7ff9927400cfe51e4"

/** Seven hex digits of `commit`, as row names and notes show it. */
export const short = commit.slice(0, 7)

/** The part of that release's event store the bench uses: appends. */
export interface Store {
  readonly append: (
    streamId: string,
    expected: unknown,
    events: ReadonlyArray<{ readonly type: string; readonly data: unknown }>
  ) => Effect.Effect<unknown, unknown>
}

/** What the bench imports from that release (its own EventStore tag, constructors and store layers). */
export interface Release {
  readonly EventStore: {
    readonly EventStore: Context.Tag<never, Store>
    readonly layerMemory: () => Layer.Layer<never, unknown>
  }
  readonly ExpectedVersion: { readonly exact: (version: number) => unknown }
  readonly StreamId: { readonly make: (id: string) => string }
  readonly SqliteEventStore: {
    readonly layer: (options: { readonly filename: string }) => Layer.Layer<never, unknown>
  }
  readonly PgEventStore: {
    readonly layer: (options: { readonly url: string; readonly maxConnections: number }) => Layer.Layer<never, unknown>
  }
}

const bench = new URL("..", import.meta.url).pathname

/**
 * Where the release is unpacked (gitignored). Always inside the workspace, whatever `CONCORD_BENCH_CONTENDERS` says
 * for Emmett: the release takes effect, @effect/sql and the drivers from the workspace's node_modules above it.
 */
export const cacheDirectory = (root = path.join(bench, ".contenders")) => path.join(root, `concord-${short}`)

/** Written last by `install`, holding the commit: a half-made cache does not pass for an installed one. */
const MARKER = "installed-from"

/** The entry module: everything `Release` names, from the unpacked packages. */
const ENTRY = `// What the bench uses of Concord at ${short} (see packages/bench/src/Release.ts).
export { EventStore, ExpectedVersion, StreamId } from "@concord/core"
export { PgEventStore } from "@concord/sql/pg"
export { SqliteEventStore } from "@concord/sql/sqlite"
`

/** The packages unpacked, each linked under its name in the cache's node_modules. */
const PACKAGES = ["core", "sql"] as const

/** Whether the cache holds this commit, unpacked to the end, with the entry module this bench writes. */
export const isInstalled = (cache = cacheDirectory()) => {
  const marker = path.join(cache, MARKER)
  const entry = path.join(cache, "index.js")
  return fs.existsSync(marker) && fs.readFileSync(marker, "utf8").trim() === commit &&
    fs.existsSync(entry) && fs.readFileSync(entry, "utf8") === ENTRY
}

/** Runs git at the top of the repository holding the bench (paths in `args` are from there). */
const git = (args: ReadonlyArray<string>) => {
  const top = spawnSync("git", ["rev-parse", "--show-toplevel"], { cwd: bench })
  const cwd = top.status === 0 ? top.stdout.toString().trim() : bench
  return spawnSync("git", args, { cwd, maxBuffer: 64 * 1024 * 1024 })
}

/**
 * Unpacks the release from the repository's history into the cache. Fails with the reason when there is no history
 * to take it from (an installed copy of the project, or a shallow clone without that commit).
 */
export const install = (log: (line: string) => void, cache = cacheDirectory()): void => {
  log(
    `unpacking the release before the read side, Concord at ${short}, from git history into ` +
      `${path.relative(path.join(bench, "..", ".."), cache)} (once)`
  )
  const archive = git([
    "archive",
    "--format=tar",
    commit,
    ...PACKAGES.flatMap((name) => [`packages/${name}/package.json`, `packages/${name}/src`])
  ])
  if (archive.status !== 0) {
    throw new Error(`git archive ${short} failed: ${archive.error?.message ?? archive.stderr.toString().trim()}`)
  }
  fs.rmSync(cache, { recursive: true, force: true })
  fs.mkdirSync(cache, { recursive: true })
  const tar = spawnSync("tar", ["-x", "-C", cache], { input: archive.stdout })
  if (tar.status !== 0) throw new Error(`unpacking ${short} failed: ${tar.stderr.toString().trim()}`)
  for (const name of PACKAGES) {
    // A link, not a copy: tools that leave node_modules alone (tsx, vitest) still see sources to compile.
    fs.mkdirSync(path.join(cache, "node_modules", "@concord"), { recursive: true })
    fs.symlinkSync(path.join("..", "..", "packages", name), path.join(cache, "node_modules", "@concord", name))
  }
  fs.writeFileSync(path.join(cache, "package.json"), JSON.stringify({ private: true, type: "module" }) + "\n")
  fs.writeFileSync(path.join(cache, "index.js"), ENTRY)
  fs.writeFileSync(path.join(cache, MARKER), commit + "\n")
}

/**
 * The release, unpacked first if `mode` allows (the modes of Contenders.ts); `undefined`, with the reason logged,
 * when it is not to be measured or cannot be had.
 */
export const load = async (
  mode: "install" | "installed" | "none",
  log: (line: string) => void
): Promise<Release | undefined> => {
  if (mode === "none") return undefined
  const cache = cacheDirectory()
  if (!isInstalled(cache)) {
    if (mode === "installed") {
      log(`the release ${short} is not unpacked: its figures are skipped`)
      return undefined
    }
    try {
      install(log, cache)
    } catch (error) {
      log(`${(error as Error).message}: the release's figures are skipped`)
      return undefined
    }
  }
  return (await import(pathToFileURL(path.join(cache, "index.js")).href)) as Release
}
