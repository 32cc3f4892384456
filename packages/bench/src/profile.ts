// `npm run profile -- <memory|sqlite|pg>`: one backend's uncontended single-event appends, reduced, under V8's CPU
// profiler (the one `node --cpu-prof` starts, here started and stopped through node:inspector around the appends
// alone, so that loading and compiling the TypeScript is not in the profile); prints where the time went, self time
// by function and by package as shares of the busy time, and leaves the profile in build/profiles for DevTools.
// Only Concord's store is profiled: the baselines are measured in the bench, and this is for finding what to fix.
import { ExpectedVersion, StreamId } from "@concord/core"
import { Postgres } from "@concord/test-postgres"
import * as fs from "node:fs"
import { Session } from "node:inspector/promises"
import * as path from "node:path"
import * as Stores from "./Stores.js"

interface Node {
  readonly id: number
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number }
  readonly children?: ReadonlyArray<number>
}

interface Profile {
  readonly nodes: ReadonlyArray<Node>
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

/** Where a function lives: a package, Concord's own source, or V8's own work ("(garbage collector)" and the like). */
const owner = (url: string, name: string) => {
  if (url === "") return name.startsWith("(") ? name : "(native)"
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (modules !== null) return modules[1]!
  const concord = /packages\/([^/]+)\/src/.exec(url)
  if (concord !== null) return `@concord/${concord[1]}`
  return url.startsWith("node:") ? "node" : path.basename(url)
}

/** Self time per function and per package, as shares of the busy (not idle) sampled time, largest first. */
export const summarize = (profile: Profile, top = 25): string => {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const self = new Map<number, number>()
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)))
  const add = (map: Map<string, number>, key: string, value: number) => map.set(key, (map.get(key) ?? 0) + value)
  const functions = new Map<string, number>()
  const packages = new Map<string, number>()
  let idle = 0
  for (const [id, time] of self) {
    const { functionName, lineNumber, url } = byId.get(id)!.callFrame
    // Waiting for the database or a timer is not work this process could save.
    if (functionName === "(idle)") {
      idle += time
      continue
    }
    const where = owner(url, functionName)
    const file = url === "" ? "" : ` ${url.replace(/^.*\/(node_modules|packages)\//, "")}:${lineNumber + 1}`
    add(functions, `${functionName || "(anonymous)"}${file}`, time)
    add(packages, where, time)
  }
  const busy = [...packages.values()].reduce((a, b) => a + b, 0)
  const table = (map: Map<string, number>, count: number) =>
    [...map].sort(([, a], [, b]) => b - a).slice(0, count)
      .map(([key, time]) => `${(100 * time / busy).toFixed(1).padStart(5)}%  ${key}`).join("\n")
  return `busy ${(busy / 1000).toFixed(0)} ms, idle ${(idle / 1000).toFixed(0)} ms\n\nby package:\n${
    table(packages, 15)
  }\n\nby function:\n${table(functions, top)}`
}

const note = { type: "MeetingNoteAdded", data: { noteId: "n", author: "bench", text: "x".repeat(40) } }

/** Single-event appends on 50 streams, each with its expected version: the bench's uncontended cell at batch 1. */
const appends = async (
  opened: Awaited<ReturnType<typeof Stores.concord>>,
  count: number,
  writers: number,
  prefix = "client"
) => {
  const versions = new Map<string, number>()
  await Promise.all(Array.from({ length: writers }, async (_, w) => {
    for (let a = w; a < count; a += writers) {
      const stream = `${prefix}-${w}-${a % 50}`
      const expected = versions.get(stream) ?? 0
      await opened.run(opened.store.append(StreamId.make(stream), ExpectedVersion.exact(expected), [note]))
      versions.set(stream, expected + 1)
    }
  }))
}

const profiled = async (opened: Awaited<ReturnType<typeof Stores.concord>>, count: number, writers: number) => {
  // A few appends first, so that the profile shows the steady state rather than the first calls' compilation.
  await appends(opened, 200, writers, "warm-up")
  const session = new Session()
  session.connect()
  await session.post("Profiler.enable")
  await session.post("Profiler.start")
  await appends(opened, count, writers)
  const { profile } = await session.post("Profiler.stop")
  session.disconnect()
  await opened.dispose()
  return profile as unknown as Profile
}

const profileRun = async (backend: string) => {
  switch (backend) {
    case "memory":
      return profiled(await Stores.concordMemory(), 20_000, 1)
    case "sqlite":
      return profiled(await Stores.concordSqlite(Stores.freshFile()), 3_000, 1)
    case "pg": {
      const cluster = await Postgres.start({ settings: ["-c fsync=off"] })
      if (cluster === undefined) throw new Error("PostgreSQL is not installed")
      try {
        return await profiled(await Stores.concordPg(await Stores.freshDatabase(cluster.url), 8), 3_000, 8)
      } finally {
        cluster.stop()
      }
    }
    default:
      throw new Error(`unknown backend ${backend}: memory, sqlite or pg`)
  }
}

const backend = process.argv[2] ?? "memory"
const profile = await profileRun(backend)
Stores.dropScratch()
const directory = new URL("../build/profiles", import.meta.url).pathname
fs.mkdirSync(directory, { recursive: true })
fs.writeFileSync(`${directory}/${backend}.cpuprofile`, JSON.stringify(profile))
console.log(summarize(profile))
