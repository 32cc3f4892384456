// Appends over HTTP: how many single-event appends per second `concord serve` answers under many writers, each
// request creating a stream of its own, against the least an append server does (minimal-append-server.ts: node:http
// and better-sqlite3 at synchronous FULL and at NORMAL; minimal-pg-append-server.ts: node:http and pg). Each server
// runs in a process of its own on a fresh file or database; the load generator (autocannon) runs in the bench's
// process, so it shares no server's thread.
import autocannon from "autocannon"
import { type Figure, type Section, summarize } from "./Measure.js"
import * as Service from "./Service.js"
import * as Stores from "./Stores.js"
import { note } from "./Uncontended.js"

export interface ServiceAppendsSize {
  /** The writers' connection counts, one cell each. */
  readonly connections: ReadonlyArray<number>
  /** How many appends a trial sends, shared by its connections: it ends when all are answered. */
  readonly appends: number
  readonly trials: number
}

export type Store = "SQLite" | "PostgreSQL"

export const concordService = "Concord service"
export const minimalFull = "minimal node:http + better-sqlite3 server (synchronous = FULL)"
export const minimalNormal = "minimal node:http + better-sqlite3 server (synchronous = NORMAL)"
export const minimalPg = "minimal node:http + pg server"

export type Server = typeof concordService | typeof minimalFull | typeof minimalNormal | typeof minimalPg

/** The name of a row; `figure` is appends answered per second or the trial's p99 latency. */
export const rowName = (store: Store, connections: number, server: Server, figure: "appends/s" | "p99 latency") =>
  `Appends over HTTP, ${store}, ${connections} connections: ${server}, ${figure}`

/** The name of the row of the service's rate over the minimal PostgreSQL server's, round by round. */
export const pgRatioName = (connections: number) =>
  `Appends over HTTP, PostgreSQL, ${connections} connections: ${concordService} / ${minimalPg}`

/** What every request sends: one event for a new stream, as an application's first append to it. */
const body = JSON.stringify({ expectedVersion: 0, events: [note(1)] })

/** Stream ids are never reused: each trial's requests take theirs from a prefix of their own. */
let trials = 0

/**
 * One trial: `connections` writers appending until `appends` appends were answered, each request to a stream of its
 * own. A count rather than a duration: a slow server still answers every append of a trial. `onLastAnswer` runs as the
 * last answer arrives (before autocannon's next tick of once a second ends the run), for what must be read then.
 */
export const trial = async (url: string, connections: number, appends: number, onLastAnswer?: () => void) => {
  const prefix = `t${trials++}`
  let request = 0
  let answers = 0
  let lastAnswer = 0
  const started = performance.now()
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon({
      url,
      connections,
      amount: appends,
      // Far longer than any answer should take: a request that waits this long is counted, not silently retried.
      timeout: 30,
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
      requests: [{ setupRequest: (r) => ({ ...r, path: `/streams/${prefix}-${request++}/events` }) }]
    }, (error, result) => error ? reject(error) : resolve(result))
    // autocannon ends a run on its next tick of once a second: the trial's time ends with its last answer instead.
    instance.on("response", () => {
      lastAnswer = performance.now()
      if (++answers === appends) onLastAnswer?.()
    })
  })
  if (result.errors > 0 || result.non2xx > 0) {
    throw new Error(
      `${url}, ${connections} connections: ${result.errors} errors (${result.timeouts} timeouts), ` +
        `${result.non2xx} answers other than 2xx`
    )
  }
  return {
    appendsPerSecond: result["2xx"] / ((lastAnswer - started) / 1000),
    p99: result.latency.p99,
    answered: result["2xx"]
  }
}

const post = async (url: string, stream: string) => {
  const response = await fetch(`${url}/streams/${stream}/events`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body
  })
  return { status: response.status, body: await response.text() }
}

/**
 * Every server does the work the section compares: the same `200` body for a new stream's append, and a `409` for a
 * second append expecting the stream not to exist (the version is checked, not assumed).
 */
const checkSameAnswers = async (servers: ReadonlyArray<{ readonly name: string; readonly url: string }>) => {
  for (const server of servers) {
    const created = await post(server.url, "check")
    const expected = JSON.stringify({ streamId: "check", firstVersion: 1, lastVersion: 1, rebasedOver: 0 })
    if (created.status !== 200 || JSON.stringify(JSON.parse(created.body)) !== expected) {
      throw new Error(`${server.name} answered a new stream's append ${created.status} ${created.body}`)
    }
    const again = await post(server.url, "check")
    if (again.status !== 409) throw new Error(`${server.name} answered a stale append ${again.status} ${again.body}`)
  }
}

interface Started {
  readonly name: Server
  readonly service: Service.Service
}

/** One store's servers, started; every trial of every connection count; the rows. */
const compare = async (
  store: Store,
  start: ReadonlyArray<{ readonly name: Server; readonly start: () => Promise<Service.Service> }>,
  size: ServiceAppendsSize
): Promise<ReadonlyArray<Figure>> => {
  const servers: Array<Started> = []
  try {
    for (const server of start) servers.push({ name: server.name, service: await server.start() })
    await checkSameAnswers(servers.map((s) => ({ name: s.name, url: s.service.url })))
    const rows: Array<Figure> = []
    for (const connections of size.connections) {
      // One uncounted trial each: the first requests run code not yet compiled by the optimising compiler.
      for (const server of servers) await trial(server.service.url, connections, size.appends)
      const samples = servers.map(() => ({ rate: [] as Array<number>, p99: [] as Array<number> }))
      for (let round = 0; round < size.trials; round++) {
        const order = servers.map((_, s) => round % 2 === 0 ? s : servers.length - 1 - s)
        for (const s of order) {
          const measured = await trial(servers[s]!.service.url, connections, size.appends)
          samples[s]!.rate.push(measured.appendsPerSecond)
          samples[s]!.p99.push(measured.p99)
        }
      }
      servers.forEach((server, s) => {
        rows.push(summarize(rowName(store, connections, server.name, "appends/s"), samples[s]!.rate, "appends/s"))
        rows.push(summarize(rowName(store, connections, server.name, "p99 latency"), samples[s]!.p99, "ms"))
      })
      if (store === "PostgreSQL") {
        const ratios = samples[0]!.rate.map((rate, round) => rate / samples[1]!.rate[round]!)
        rows.push(summarize(pgRatioName(connections), ratios, "x"))
      }
    }
    return rows
  } finally {
    for (const server of servers) await server.service.stop()
  }
}

/** A fresh SQLite file with Concord's tables, for a minimal server: the same schema and indexes as the service's. */
const migratedFile = async () => {
  const file = Stores.freshFile()
  await (await Stores.concordSqlite(file)).dispose()
  return file
}

const migratedDatabase = async (clusterUrl: string) => {
  const url = await Stores.freshDatabase(clusterUrl)
  await (await Stores.concordPg(url, 1)).dispose()
  return url
}

const minimal = (what: string, program: string, args: ReadonlyArray<string>) =>
  Service.startListening(what, [new URL(program, import.meta.url).pathname, ...args])

export const run = async (size: ServiceAppendsSize, pgUrl: string | undefined): Promise<Section> => {
  // Concord in the middle, so that it runs next to each baseline in every round.
  const rows = [
    ...await compare("SQLite", [
      {
        name: minimalFull,
        start: async () =>
          minimal("the minimal append server", "minimal-append-server.ts", [await migratedFile(), "full"])
      },
      { name: concordService, start: () => Service.start({ sqlite: Stores.freshFile() }) },
      {
        name: minimalNormal,
        start: async () =>
          minimal("the minimal append server", "minimal-append-server.ts", [await migratedFile(), "normal"])
      }
    ], size),
    ...(pgUrl === undefined ? [] : await compare("PostgreSQL", [
      { name: concordService, start: async () => Service.start({ postgres: await Stores.freshDatabase(pgUrl) }) },
      {
        name: minimalPg,
        start: async () =>
          minimal("the minimal pg append server", "minimal-pg-append-server.ts", [await migratedDatabase(pgUrl)])
      }
    ], size))
  ]
  return {
    id: "service-appends",
    title: "Appends over HTTP",
    unit: "appends/s",
    rows,
    notes: `\`concord serve\` on its defaults (a fresh SQLite file, or a fresh PostgreSQL database with ` +
      `\`--postgres\`) against minimal servers (\`node:http\` and a driver, nothing else: parse the JSON body, then ` +
      `in one transaction the guarded move of the stream row from the expected version and the event's insert, ` +
      `into tables made by Concord's own migrations) on fresh files or databases of their own: better-sqlite3 in WAL ` +
      `mode at \`synchronous = FULL\` (a sync per commit, the durability the service's default gives) and at ` +
      `\`NORMAL\` (no sync per commit: the CPU floor), and \`pg\` with a pool of 10 connections. Each in a process ` +
      `of its own; all answer a new stream's append with the same body and a stale one with 409 (checked before ` +
      `the trials). autocannon, in the bench's process, keeps ${size.connections.join(" or ")} keep-alive ` +
      `connections sending single-event appends with \`expectedVersion: 0\`, each to a stream of its own, ` +
      `${size.appends.toLocaleString("en-US")} per trial; a figure is the trial's appends answered per second ` +
      `(from the first request to the last answer), or its p99 latency. ${size.trials} rounds per connection count ` +
      `after one uncounted trial per server, the servers taking turns, Concord's service in the middle; the ` +
      `PostgreSQL ratio rows are the service's rate over the minimal server's, round by round (no target).` +
      (pgUrl === undefined ? " PostgreSQL was not available in this run." : "")
  }
}
