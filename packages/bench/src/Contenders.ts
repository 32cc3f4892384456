// Emmett, the contender the bench compares Concord's stores and command handler with, is not a dependency of the
// project: a newcomer's `npm install` builds only what the product needs. The bench installs each contender itself,
// on demand, into a cache it owns (packages/bench/.contenders/<name>, gitignored) from a manifest and lockfile kept
// in packages/bench/contenders/<name>, with exact versions, and says so when it does. The bench's code imports the
// contender's entry module from the cache at run time and sees it through the small interfaces below, so it
// type-checks without the contenders installed.
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { pathToFileURL } from "node:url"

/** An event as Emmett takes it. */
export interface EmmettEvent {
  readonly type: string
  readonly data: Record<string, unknown>
  readonly metadata?: Record<string, unknown>
}

/** An event as Emmett reads it back: its metadata carries the stream position. */
export interface EmmettRecordedEvent {
  readonly type: string
  readonly data: Record<string, unknown>
  readonly metadata: Record<string, unknown> & { readonly streamPosition: bigint }
}

/** A version Emmett expects: a number, or one of its constants (`STREAM_DOES_NOT_EXIST`). */
export type EmmettExpectedVersion = bigint | string

/** The part of an Emmett event store the bench uses. */
export interface EmmettStore {
  readonly appendToStream: (
    streamName: string,
    events: Array<EmmettEvent>,
    options?: { readonly expectedStreamVersion?: EmmettExpectedVersion }
  ) => Promise<{ readonly nextExpectedStreamVersion: bigint }>
  readonly readStream: (
    streamName: string,
    options?: { readonly from?: bigint }
  ) => Promise<{ readonly currentStreamVersion: bigint; readonly events: ReadonlyArray<EmmettRecordedEvent> }>
}

/** Emmett's command handler, as the bench configures it: fold the stream, decide, append, retry on a conflict. */
export type EmmettCommandHandler = <State>(options: {
  readonly evolve: (state: State, event: EmmettRecordedEvent) => State
  readonly initialState: () => State
  readonly retry: {
    readonly onVersionConflict: {
      readonly retries: number
      readonly minTimeout: number
      readonly maxTimeout: number
      readonly factor: number
      readonly randomize: boolean
      readonly shouldRetryError: (error: unknown) => boolean
    }
  }
}) => (store: EmmettStore, id: string, decide: (state: State) => Array<EmmettEvent>) => Promise<unknown>

/** packages/bench/contenders/emmett/index.js: Emmett 0.42. */
export interface Emmett {
  readonly getInMemoryEventStore: () => EmmettStore
  readonly getPostgreSQLEventStore: (url: string) => EmmettStore & { readonly close: () => Promise<void> }
  readonly CommandHandler: EmmettCommandHandler
  readonly isExpectedVersionConflictError: (error: unknown) => error is Error & { readonly current?: unknown }
  readonly STREAM_DOES_NOT_EXIST: EmmettExpectedVersion
}

/** packages/bench/contenders/emmett-sqlite/index.js: Emmett 0.38.5's SQLite store. */
export interface EmmettSqlite {
  readonly getSQLiteEventStore: (options: {
    readonly fileName: string
    readonly schema: { readonly autoMigration: "CreateOrUpdate" }
  }) => Pick<EmmettStore, "appendToStream">
}

/** The contenders this run measures; a missing one is left out of the figures and the notes say so. */
export interface Loaded {
  readonly emmett: Emmett | undefined
  readonly emmettSqlite: EmmettSqlite | undefined
}

/**
 * `install`: install what is missing (what `npm run bench` does); `installed`: use what the cache holds, install
 * nothing (the smoke test); `none`: measure Concord and the raw drivers only.
 */
export type Mode = "install" | "installed" | "none"

export const definitions = {
  emmett: { describe: "Emmett 0.42 (in-memory and PostgreSQL stores, command handler)" },
  "emmett-sqlite": {
    describe: "Emmett's SQLite store 0.38.5 with sqlite3 5.1.7, which compiles SQLite from source when no prebuilt " +
      "binary is reachable (one to three minutes)"
  }
} as const

export type Name = keyof typeof definitions

const bench = new URL("..", import.meta.url).pathname

/** Where a contender's manifest, lockfile and entry module are kept (committed). */
export const manifestDirectory = (name: Name) => path.join(bench, "contenders", name)

/** Where the bench installs a contender (gitignored); `CONCORD_BENCH_CONTENDERS` moves the cache. */
export const cacheDirectory = (
  name: Name,
  root = process.env.CONCORD_BENCH_CONTENDERS ?? path.join(bench, ".contenders")
) => path.join(root, name)

const FILES = ["package.json", "package-lock.json", "index.js"] as const

/**
 * `installed` when the cache holds this manifest's lockfile installed (npm's own record of the install,
 * node_modules/.package-lock.json, is there) and the same three files; `stale` when the manifest changed since;
 * `missing` otherwise.
 */
export const status = (manifest: string, cache: string): "installed" | "stale" | "missing" => {
  if (!fs.existsSync(path.join(cache, "node_modules", ".package-lock.json"))) return "missing"
  const same = FILES.every((file) => {
    const installed = path.join(cache, file)
    return fs.existsSync(installed) &&
      fs.readFileSync(installed, "utf8") === fs.readFileSync(path.join(manifest, file), "utf8")
  })
  return same ? "installed" : "stale"
}

/**
 * The environment for the child `npm ci`: without the `npm_*` variables of an enclosing `npm run` (its
 * `npm_config_workspace` would send the install to the bench's workspace instead of the cache).
 */
const cleanEnvironment = () => Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key)))

/** Copies the manifest into the cache and runs `npm ci` there: exactly the versions of the lockfile. */
export const install = (name: Name, log: (line: string) => void, root?: string): void => {
  const manifest = manifestDirectory(name)
  const cache = cacheDirectory(name, root)
  const shown = (directory: string) => path.relative(path.join(bench, "..", ".."), directory)
  log(
    `installing the contender ${name}, ${definitions[name].describe}, into ${shown(cache)} (npm ci from ` +
      `${shown(manifest)}; once, until its manifest changes)`
  )
  fs.rmSync(cache, { recursive: true, force: true })
  fs.mkdirSync(cache, { recursive: true })
  for (const file of FILES) fs.copyFileSync(path.join(manifest, file), path.join(cache, file))
  const npm = spawnSync("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error", "--workspaces=false"], {
    cwd: cache,
    env: cleanEnvironment(),
    stdio: ["ignore", "inherit", "inherit"]
  })
  if (npm.status !== 0) {
    // A half-made cache must not pass for an installed one.
    fs.rmSync(path.join(cache, "node_modules", ".package-lock.json"), { force: true })
    throw new Error(`installing the contender ${name} failed (npm ci exited with ${npm.status ?? npm.signal})`)
  }
}

/** The contender's entry module, installed first if `mode` allows; `undefined` when it is not to be measured. */
const loadOne = async <Module>(name: Name, mode: Mode, log: (line: string) => void): Promise<Module | undefined> => {
  if (mode === "none") return undefined
  const cache = cacheDirectory(name)
  const state = status(manifestDirectory(name), cache)
  if (state !== "installed") {
    if (mode === "installed") {
      log(`the contender ${name} is not installed (${state}): its figures are skipped`)
      return undefined
    }
    install(name, log)
  }
  return (await import(pathToFileURL(path.join(cache, "index.js")).href)) as Module
}

/** The contenders `wanted` (those the sections of this run compare with), loaded as `mode` says. */
export const load = async (
  mode: Mode,
  wanted: ReadonlyArray<Name>,
  log: (line: string) => void
): Promise<Loaded> => ({
  emmett: wanted.includes("emmett") ? await loadOne<Emmett>("emmett", mode, log) : undefined,
  emmettSqlite: wanted.includes("emmett-sqlite") ? await loadOne<EmmettSqlite>("emmett-sqlite", mode, log) : undefined
})

/** Nothing but Concord and the raw drivers. */
export const none: Loaded = { emmett: undefined, emmettSqlite: undefined }
