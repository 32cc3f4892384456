// Workload 5: memory. The in-memory store holding many events is measured in a child process of its own, so the
// heap holds nothing else; the server's RSS is sampled while clients load it.
import { execFileSync, spawn } from "node:child_process"
import * as fs from "node:fs"
import { createRequire } from "node:module"
import { type Section, summarize } from "./Measure.js"
import * as Stores from "./Stores.js"

export interface MemorySize {
  readonly events: number
  readonly serverSeconds: number
  readonly trials: number
}

const tsx = createRequire(import.meta.url).resolve("tsx")
const here = (file: string) => new URL(file, import.meta.url).pathname

const node = (script: string, args: ReadonlyArray<string>) =>
  execFileSync(process.execPath, [
    "--conditions=@concord/source",
    "--import",
    tsx,
    "--expose-gc",
    here(script),
    ...args
  ], {
    encoding: "utf8"
  })

const rssOf = (pid: number) => {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8")
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024
}

const serverUnderLoad = async (seconds: number) => {
  const server = spawn(process.execPath, [
    "--conditions=@concord/source",
    "--import",
    tsx,
    here("../../server/src/bin.ts"),
    "serve",
    "--port",
    "0",
    "--db",
    Stores.freshFile(),
    "--registry",
    here("../../example-crm/registry.json")
  ], { stdio: ["ignore", "pipe", "ignore"] })
  const url = await new Promise<string>((resolve) => {
    let output = ""
    server.stdout!.on("data", (chunk) => {
      output += String(chunk)
      const match = /listening on (http:\/\/\S+)/.exec(output)
      if (match) resolve(match[1]!)
    })
  })
  let peak = rssOf(server.pid!)
  const sampler = setInterval(() => (peak = Math.max(peak, rssOf(server.pid!))), 50)
  const deadline = Date.now() + seconds * 1000
  let appends = 0
  await Promise.all(Array.from({ length: 20 }, async (_, c) => {
    while (Date.now() < deadline) {
      await fetch(`${url}/streams/client-load-${c % 5}/events`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          expectedVersion: "any",
          events: [{ type: "MeetingNoteAdded", data: { noteId: `${c}-${appends}`, author: "load", text: "x" } }]
        })
      })
      appends++
    }
  }))
  clearInterval(sampler)
  server.kill("SIGTERM")
  return { peak, appends }
}

export const run = async (size: MemorySize): Promise<Section> => {
  const mb = (bytes: number) => bytes / (1024 * 1024)
  const heap: Array<number> = []
  const rss: Array<number> = []
  const perEvent: Array<number> = []
  const peak: Array<number> = []
  const served: Array<number> = []
  for (let trial = 0; trial < size.trials; trial++) {
    const store = JSON.parse(node("memory-store.ts", [String(size.events)])) as {
      heapUsed: number
      rss: number
      baselineHeap: number
    }
    heap.push(mb(store.heapUsed - store.baselineHeap))
    rss.push(mb(store.rss))
    perEvent.push((store.heapUsed - store.baselineHeap) / size.events)
    const server = await serverUnderLoad(size.serverSeconds)
    peak.push(mb(server.peak))
    served.push(server.appends)
  }
  return {
    id: "memory",
    title: "Memory",
    unit: "MiB",
    rows: [
      summarize(`in-memory store holding ${size.events} events: heap`, heap, "MiB"),
      summarize(`in-memory store holding ${size.events} events: RSS`, rss, "MiB"),
      summarize("in-memory store: heap per event", perEvent, "bytes"),
      summarize(`server on SQLite, peak RSS under 20 clients for ${size.serverSeconds} s`, peak, "MiB"),
      summarize("server on SQLite, appends served in that time", served, "appends")
    ],
    notes: "Each trial fills the store in a fresh process and measures after a full GC, then loads a fresh server " +
      "and samples its RSS every 50 ms from /proc."
  }
}
