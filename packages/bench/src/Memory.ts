// Workload 5: memory. The in-memory store holding many events is measured in a child process of its own, so the
// heap holds nothing else; the server's RSS is sampled while clients load it.
import { execFileSync, spawn } from "node:child_process"
import * as fs from "node:fs"
import { createRequire } from "node:module"
import type { Section } from "./Measure.js"
import * as Stores from "./Stores.js"

export interface MemorySize {
  readonly events: number
  readonly serverSeconds: number
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
  const store = JSON.parse(node("memory-store.ts", [String(size.events)])) as {
    heapUsed: number
    rss: number
    baselineHeap: number
  }
  const server = await serverUnderLoad(size.serverSeconds)
  const mb = (bytes: number) => bytes / (1024 * 1024)
  const figure = (name: string, value: number, unit: string) => ({ name, median: value, min: value, max: value, unit })
  return {
    id: "memory",
    title: "Memory",
    unit: "MiB",
    rows: [
      figure(`in-memory store holding ${size.events} events: heap`, mb(store.heapUsed - store.baselineHeap), "MiB"),
      figure(`in-memory store holding ${size.events} events: RSS`, mb(store.rss), "MiB"),
      figure(`in-memory store: heap per event`, (store.heapUsed - store.baselineHeap) / size.events, "bytes"),
      figure(`server on SQLite, peak RSS under 20 clients for ${size.serverSeconds} s`, mb(server.peak), "MiB"),
      figure(`server on SQLite, appends served in that time`, server.appends, "appends")
    ],
    notes:
      "One measurement each (memory is not noisy the way time is): the store in a fresh process after a full GC; " +
      "the server's RSS sampled every 50 ms from /proc."
  }
}
