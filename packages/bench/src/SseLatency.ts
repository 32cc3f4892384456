// End-to-end delivery through the service: how long after a writer has an append's `200` a subscriber of
// `GET /events/subscribe` has the event, both over real HTTP to a `concord serve` process. Writers append one event
// at a time to streams of their own, pausing a jittered moment between appends as an application would; the
// subscriber, started at the end of the log, notes when each event's message arrives. Writers and subscriber are in
// the bench's process, so both moments are read from one clock.
import * as http from "node:http"
import { type Figure, percentile, type Section, summarize } from "./Measure.js"
import * as Service from "./Service.js"
import * as Stores from "./Stores.js"

export interface SseSize {
  readonly writers: number
  /** Appends per writer per trial, one event each. */
  readonly appends: number
  /** The longest pause between two appends of a writer; each pause is drawn evenly from 0 to it. */
  readonly pauseMillis: number
  readonly trials: number
}

/** The name of a backend's row; `figure` is the trial's "p50", "p99" or "max". */
export const rowName = (backend: string, writers: number, figure: "p50" | "p99" | "max") =>
  `${backend} service, ${writers} writers: ${figure} append's 200 → SSE event`

/** How long a trial waits for the last deliveries once the writers are done before it fails. */
const drainTimeoutMillis = 30_000

const note = { type: "MeetingNoteAdded", data: { noteId: "n", author: "bench", text: "x".repeat(40) } }

const key = (stream: string, version: number) => `${stream}\u0000${version}`

const sleep = (millis: number) => new Promise<void>((resolve) => setTimeout(resolve, millis))

/**
 * Appends to a stream of its own until the subscription delivers one of those events: from then on it is live,
 * whenever the service read where "end" was.
 */
const untilLive = async (url: string, agent: http.Agent, stream: string, isLive: () => boolean) => {
  for (let attempt = 1; attempt <= 50; attempt++) {
    await Service.append(agent, url, stream, "any", { type: "Ready", data: {} })
    for (let waited = 0; waited < 100; waited += 5) {
      if (isLive()) return
      await sleep(5)
    }
  }
  throw new Error("the subscription delivered none of 50 appends in 5 seconds")
}

let trials = 0

/**
 * One trial against a running service, on streams no earlier trial used: the milliseconds from each append's `200`
 * at its writer to its event's message at the subscriber. An event whose message arrives before its writer has the
 * `200` counts as 0.
 */
const trial = async (size: SseSize, url: string): Promise<ReadonlyArray<number>> => {
  const prefix = `sse-${trials++}`
  const acknowledged = new Map<string, number>()
  const delivered = new Map<string, number>()
  let live = false
  let failure: Error | undefined
  const subscriberAgent = new http.Agent({ keepAlive: true })
  const writerAgents = Array.from({ length: size.writers }, () => new http.Agent({ keepAlive: true, maxSockets: 1 }))
  const subscription = Service.subscribe(subscriberAgent, url, (event) => {
    if (event.streamId.startsWith(`${prefix}-ready`)) live = true
    else delivered.set(key(event.streamId, event.version), event.at)
  }, (error) => (failure = error))
  try {
    await subscription.opened
    await untilLive(url, writerAgents[0]!, `${prefix}-ready`, () => live)
    await Promise.all(writerAgents.map(async (agent, w) => {
      const stream = `${prefix}-writer-${w}`
      for (let version = 1; version <= size.appends; version++) {
        acknowledged.set(key(stream, version), await Service.append(agent, url, stream, version - 1, note))
        await sleep(Math.random() * size.pauseMillis)
      }
    }))
    const deadline = performance.now() + drainTimeoutMillis
    while (delivered.size < acknowledged.size) {
      if (failure !== undefined) throw failure
      if (performance.now() > deadline) {
        throw new Error(`${delivered.size} of ${acknowledged.size} appends delivered in ${drainTimeoutMillis} ms`)
      }
      await sleep(1)
    }
    return [...acknowledged].map(([event, at]) => Math.max(0, delivered.get(event)! - at))
  } finally {
    subscription.close()
    subscriberAgent.destroy()
    for (const agent of writerAgents) agent.destroy()
  }
}

interface Backend {
  readonly name: string
  readonly storage: () => Promise<Service.Storage>
}

export const run = async (size: SseSize, pgUrl: string | undefined): Promise<Section> => {
  const backends: ReadonlyArray<Backend> = [
    { name: "SQLite", storage: async () => ({ sqlite: Stores.freshFile() }) },
    ...(pgUrl === undefined
      ? []
      : [{ name: "PostgreSQL", storage: async () => ({ postgres: await Stores.freshDatabase(pgUrl) }) }])
  ]
  const services: Array<Service.Service> = []
  try {
    // One service per backend for the whole section, each trial on streams of its own: a start costs seconds.
    for (const backend of backends) services.push(await Service.start(await backend.storage()))
    const measure = async (b: number) => {
      try {
        return await trial(size, services[b]!.url)
      } catch (error) {
        throw new Error(
          `SSE latency on ${backends[b]!.name}: ${error instanceof Error ? error.message : String(error)}`,
          { cause: error }
        )
      }
    }
    // One uncounted trial each: the service's first requests run code not yet compiled by the optimising compiler.
    for (let b = 0; b < backends.length; b++) await measure(b)
    const samples = backends.map(() => ({
      p50: [] as Array<number>,
      p99: [] as Array<number>,
      max: [] as Array<number>
    }))
    for (let round = 0; round < size.trials; round++) {
      const order = backends.map((_, b) => round % 2 === 0 ? b : backends.length - 1 - b)
      for (const b of order) {
        const latencies = await measure(b)
        samples[b]!.p50.push(percentile(latencies, 50))
        samples[b]!.p99.push(percentile(latencies, 99))
        samples[b]!.max.push(Math.max(...latencies))
      }
    }
    const rows: Array<Figure> = backends.flatMap((backend, b) =>
      (["p50", "p99", "max"] as const).map((figure) =>
        summarize(rowName(backend.name, size.writers, figure), samples[b]![figure], "ms")
      )
    )
    return {
      id: "sse",
      title: "End-to-end SSE latency through the service",
      unit: "ms",
      rows,
      notes: `A \`concord serve\` process per backend (run from the sources through tsx, on a fresh SQLite file or ` +
        `PostgreSQL database, its default pool of 10 connections), serving the whole section; each trial uses ` +
        `streams of its own. ${size.writers} writers in the bench's process append one event at a time over HTTP ` +
        `(\`POST /streams/{id}/events\`, a keep-alive connection each, expected version exact), ${size.appends} ` +
        `appends each per trial, pausing between 0 and ${size.pauseMillis} ms (drawn evenly) between appends; a ` +
        `subscriber in the same process reads \`GET /events/subscribe?after=end\` as Server-Sent Events. A figure ` +
        `is the time from the moment the writer has the append's \`200\` (its status line) to the moment the ` +
        `event's message arrives at the subscriber (0 when the message came first), both on the bench's clock; ` +
        `each trial's p50, p99 and max of its ${(size.writers * size.appends).toLocaleString("en-US")} deliveries ` +
        `is one sample, ${size.trials} rounds after one uncounted trial per backend, the backends taking turns. ` +
        `The service logs each append and subscription to its standard output, which the bench reads.` +
        (pgUrl === undefined ? " PostgreSQL was not available in this run." : "")
    }
  } finally {
    for (const service of services) await service.stop()
  }
}
