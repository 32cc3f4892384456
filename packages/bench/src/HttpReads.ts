// Reads over HTTP: how many pages of a 1,000-event stream the service answers per second under many readers, against
// the least a read server does (minimal-read-server.ts: node:http and better-sqlite3) over a copy of the same file.
// Each server runs in a process of its own; the load generator (autocannon) runs in the bench's process, so it
// shares neither server's thread.
import { Event, ExpectedVersion, StreamId } from "@concord/core"
import autocannon from "autocannon"
import Database from "better-sqlite3"
import { type Figure, type Section, summarize } from "./Measure.js"
import * as Service from "./Service.js"
import * as Stores from "./Stores.js"

export interface HttpReadsSize {
  /** The readers' connection counts, one cell each. */
  readonly connections: ReadonlyArray<number>
  /** The events of the stream, all read by every request. */
  readonly events: number
  /** How many pages a trial asks for, shared by its connections: it ends when all are answered. */
  readonly pages: number
  readonly trials: number
}

export type Server = "Concord service" | "minimal node:http + better-sqlite3 server"

/** The name of a row; `figure` is pages answered per second or the trial's p99 latency. */
export const rowName = (connections: number, server: Server, figure: "pages/s" | "p99 latency") =>
  `HTTP reads, ${connections} connections: ${server}, ${figure}`

const stream = "http-reads-1"

/** A contact's event as an application stores it: a few hundred bytes of JSON, metadata beside it. */
const eventAt = (i: number) => ({
  id: Event.EventId.make(`00000000-0000-4000-8000-${String(i).padStart(12, "0")}`),
  type: "ContactUpdated",
  data: {
    contactId: `contact-${i % 97}`,
    name: `Contact number ${i}`,
    email: `contact${i}@example.com`,
    phone: `+1 555 01${String(i % 100).padStart(2, "0")}`,
    tags: ["customer", i % 3 === 0 ? "priority" : "regular"],
    score: i * 1.5,
    active: i % 2 === 0,
    address: { street: `${i} Main Street`, city: "Springfield", postcode: String(10_000 + i) }
  },
  metadata: { correlationId: `request-${i}`, user: "bench" }
})

/**
 * The file the Concord service reads, filled through Concord's own store (one append), and a copy of it made with
 * `VACUUM INTO` for the minimal server: the same rows, as Concord stores them.
 */
const files = async (events: number) => {
  const concordFile = Stores.freshFile()
  const minimalFile = Stores.freshFile()
  const concord = await Stores.concordSqlite(concordFile)
  try {
    await concord.run(
      concord.store.append(
        StreamId.make(stream),
        ExpectedVersion.noStream,
        Array.from({ length: events }, (_, i) => eventAt(i))
      )
    )
  } finally {
    await concord.dispose()
  }
  const database = new Database(concordFile)
  try {
    database.prepare("VACUUM INTO ?").run(minimalFile)
  } finally {
    database.close()
  }
  return { concordFile, minimalFile }
}

const pageOf = (url: string, events: number) => `${url}/streams/${stream}/events?limit=${events}`

/**
 * Both servers answer the page with the same bytes: the minimal server is a fair baseline (same JSON, same work for
 * the client) and the service's streamed answer is whole.
 */
const checkSameAnswers = async (urls: ReadonlyArray<string>, events: number) => {
  const bodies = await Promise.all(urls.map(async (url) => {
    const response = await fetch(pageOf(url, events))
    if (response.status !== 200) throw new Error(`GET ${pageOf(url, events)}: ${response.status}`)
    return response.text()
  }))
  const page = JSON.parse(bodies[0]!) as { events: ReadonlyArray<unknown> }
  if (page.events.length !== events) throw new Error(`a page of ${page.events.length} events, not ${events}`)
  if (bodies.some((body) => body !== bodies[0])) {
    throw new Error(`the servers answer the same page differently:\n${bodies.map((b) => b.slice(0, 300)).join("\n")}`)
  }
}

/**
 * One trial: `connections` readers asking for the page over and over until `pages` pages were answered. A count rather than a duration: a slow server still answers every page of a trial, none cut off at its
 * end.
 */
const trial = async (url: string, connections: number, size: HttpReadsSize) => {
  let lastAnswer = 0
  const started = performance.now()
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon({
      url: pageOf(url, size.events),
      connections,
      amount: size.pages,
      // Far longer than any answer should take: a request that waits this long is counted, not silently retried.
      timeout: 30
    }, (error, result) => error ? reject(error) : resolve(result))
    // autocannon ends a run on its next tick of once a second: the trial's time ends with its last answer instead.
    instance.on("response", () => (lastAnswer = performance.now()))
  })
  if (result.errors > 0 || result.non2xx > 0) {
    throw new Error(
      `${url}, ${connections} connections: ${result.errors} errors (${result.timeouts} timeouts), ` +
        `${result.non2xx} answers other than 2xx`
    )
  }
  return { pagesPerSecond: result["2xx"] / ((lastAnswer - started) / 1000), p99: result.latency.p99 }
}

export const run = async (size: HttpReadsSize): Promise<Section> => {
  const { concordFile, minimalFile } = await files(size.events)
  const servers: Array<{ readonly name: Server; readonly service: Service.Service }> = []
  try {
    servers.push({ name: "Concord service", service: await Service.start({ sqlite: concordFile }) })
    servers.push({
      name: "minimal node:http + better-sqlite3 server",
      service: await Service.startListening("the minimal read server", [
        new URL("minimal-read-server.ts", import.meta.url).pathname,
        minimalFile
      ])
    })
    await checkSameAnswers(servers.map((s) => s.service.url), size.events)
    const rows: Array<Figure> = []
    for (const connections of size.connections) {
      // One uncounted trial each: the first requests run code not yet compiled by the optimising compiler.
      for (const server of servers) await trial(server.service.url, connections, size)
      const samples = servers.map(() => ({ pages: [] as Array<number>, p99: [] as Array<number> }))
      for (let round = 0; round < size.trials; round++) {
        const order = servers.map((_, s) => round % 2 === 0 ? s : servers.length - 1 - s)
        for (const s of order) {
          const measured = await trial(servers[s]!.service.url, connections, size)
          samples[s]!.pages.push(measured.pagesPerSecond)
          samples[s]!.p99.push(measured.p99)
        }
      }
      servers.forEach((server, s) => {
        rows.push(summarize(rowName(connections, server.name, "pages/s"), samples[s]!.pages, "pages/s"))
        rows.push(summarize(rowName(connections, server.name, "p99 latency"), samples[s]!.p99, "ms"))
      })
    }
    return {
      id: "http-reads",
      title: "Reads over HTTP",
      unit: "pages/s",
      rows,
      notes: `A stream of ${size.events.toLocaleString("en-US")} events (a few hundred bytes of JSON data each, with ` +
        `metadata), written by one append through Concord's SQLite store, and a copy of its file (\`VACUUM INTO\`). ` +
        `\`concord serve\` reads the first file, a minimal server (\`node:http\` and better-sqlite3: one SELECT, ` +
        `\`JSON.parse\` of each row's data and metadata, one \`JSON.stringify\` of the page, one \`end\`) the copy; ` +
        `each in a process of its own, both answering the page with the same bytes (checked before the trials). ` +
        `autocannon, in the bench's process, keeps ${size.connections.join(" or ")} keep-alive connections asking ` +
        `for the whole stream (\`GET /streams/{id}/events?limit=${size.events}\`), ${size.pages} pages per ` +
        `trial; a figure is the trial's pages answered per second (from the first request to the last ` +
        `answer), or its p99 latency. ${size.trials} rounds per ` +
        `connection count after one uncounted trial per server, the servers taking turns.`
    }
  } finally {
    for (const server of servers) await server.service.stop()
  }
}
