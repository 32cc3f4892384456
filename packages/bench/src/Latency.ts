// Live delivery: how long after an append is acknowledged a subscriber in the same process has the event. Writers
// append one event at a time to streams of their own, pausing a jittered moment between appends as an application
// would (a saturated store measures its backlog, not its delivery); a subscriber that started at the end of the log
// (`subscribe({ after: "end" })`) notes when each event reaches it.
import type { EventStore } from "@concord/core"
import { ExpectedVersion, StreamId } from "@concord/core"
import { Deferred, Effect, Exit, Fiber, Option, Stream } from "effect"
import { type Figure, percentile, type Section, summarize } from "./Measure.js"
import * as Stores from "./Stores.js"

export interface LatencySize {
  readonly writers: number
  /** Appends per writer per trial, one event each. */
  readonly appends: number
  /** The longest pause between two appends of a writer; each pause is drawn evenly from 0 to it. */
  readonly pauseMillis: number
  readonly trials: number
}

/** The name of a store's row; `figure` is "p50" or "p99". */
export const rowName = (store: string, writers: number, figure: "p50" | "p99") =>
  `${store}, ${writers} writers: ${figure} append acknowledged → delivered`

const key = (stream: string, version: number) => `${stream}\u0000${version}`

/** How long a trial waits for the last deliveries once the writers are done before it fails. */
const drainTimeout = "30 seconds"

const note = { type: "MeetingNoteAdded", data: { noteId: "n", author: "bench", text: "x".repeat(40) } }

/**
 * Appends to a stream of its own until the subscriber delivers one of those events: from then on the subscription
 * is live, whenever it read where "end" was.
 */
const untilLive = (store: EventStore.Service, ready: Deferred.Deferred<void>) =>
  Effect.gen(function*() {
    for (let attempt = 1; attempt <= 50; attempt++) {
      yield* store.append(StreamId.make("ready-0"), ExpectedVersion.any, [{ type: "Ready", data: {} }])
      const live = yield* Deferred.await(ready).pipe(Effect.timeout("100 millis"), Effect.option)
      if (Option.isSome(live)) return
    }
    return yield* Effect.dieMessage("the subscriber delivered none of 50 appends in 5 seconds")
  })

/** The writers' appends, noting when each was acknowledged, then a wait until the subscriber delivered them all. */
const writeAndDrain = (
  size: LatencySize,
  store: EventStore.Service,
  acknowledged: Map<string, number>,
  delivered: Map<string, number>
) =>
  Effect.gen(function*() {
    yield* Effect.forEach(
      Array.from({ length: size.writers }, (_, w) => StreamId.make(`writer-${w}`)),
      (stream) =>
        Effect.gen(function*() {
          for (let version = 1; version <= size.appends; version++) {
            yield* store.append(stream, ExpectedVersion.exact(version - 1), [note])
            acknowledged.set(key(stream, version), performance.now())
            yield* Effect.sleep(Math.random() * size.pauseMillis)
          }
        }),
      { concurrency: "unbounded", discard: true }
    )
    yield* Effect.sleep("1 millis").pipe(
      Effect.repeat({ until: () => delivered.size >= acknowledged.size }),
      Effect.timeoutFail({
        duration: drainTimeout,
        onTimeout: () => new Error(`${delivered.size} of ${acknowledged.size} appends delivered in ${drainTimeout}`)
      })
    )
  })

/** How long a trial gives its subscription to end once interrupted. */
const releaseTimeout = "5 seconds"

/**
 * One trial on an opened store: the milliseconds from each append's acknowledgement (in its writer's fiber, as soon
 * as the append completes) to its delivery (in the subscriber's fiber), and whether the subscription ended within
 * `releaseTimeout` of its interruption. An event can reach the subscriber before its writer resumes; that counts
 * as 0.
 */
const trial = (size: LatencySize, store: EventStore.Service) =>
  Effect.gen(function*() {
    const acknowledged = new Map<string, number>()
    const delivered = new Map<string, number>()
    const ready = yield* Deferred.make<void>()
    // A daemon, interrupted below: a subscription that ignored its interruption would otherwise hold the trial open.
    const subscriber = yield* store.subscribe({ after: "end" }).pipe(
      Stream.runForEach((event) =>
        Effect.sync(() => {
          const now = performance.now()
          if (event.streamId.startsWith("ready-")) Deferred.unsafeDone(ready, Exit.void)
          else delivered.set(key(event.streamId, event.version), now)
        })
      ),
      Effect.forkDaemon
    )
    const measured = yield* Effect.exit(
      Effect.zipRight(untilLive(store, ready), writeAndDrain(size, store, acknowledged, delivered))
    )
    // Interruption must release the subscription. One that does not end is left behind (a daemon, it holds nothing
    // of the trial's) and counted for the notes, as Emmett's failed trials are: the figures stand, the bug is named.
    const released = yield* Fiber.interrupt(subscriber).pipe(Effect.timeout(releaseTimeout), Effect.isSuccess)
    yield* measured
    return {
      latencies: [...acknowledged].map(([event, at]) => Math.max(0, delivered.get(event)! - at)),
      released
    }
  })

interface Backend {
  readonly name: string
  readonly open: () => ReturnType<typeof Stores.concord>
}

export const run = async (size: LatencySize, pgUrl: string | undefined): Promise<Section> => {
  const backends: ReadonlyArray<Backend> = [
    { name: "memory", open: Stores.concordMemory },
    { name: "SQLite", open: () => Stores.concordSqlite(Stores.freshFile()) },
    ...(pgUrl === undefined ? [] : [{
      name: "PostgreSQL",
      // A connection for each writer and one for the subscriber's reads.
      open: async () => Stores.concordPg(await Stores.freshDatabase(pgUrl), size.writers + 1)
    }])
  ]
  const samples = backends.map(() => ({ p50: [] as Array<number>, p99: [] as Array<number> }))
  const unreleased = new Map<string, number>()
  const measure = async (backend: Backend) => {
    const opened = await backend.open()
    try {
      const { latencies, released } = await opened.run(trial(size, opened.store))
      if (!released) unreleased.set(backend.name, (unreleased.get(backend.name) ?? 0) + 1)
      return latencies
    } catch (error) {
      throw new Error(`live latency on ${backend.name}: ${error instanceof Error ? error.message : String(error)}`, {
        cause: error
      })
    } finally {
      await opened.dispose()
    }
  }
  // One uncounted trial each: the first runs code not yet compiled by the optimising compiler.
  for (const backend of backends) await measure(backend)
  for (let round = 0; round < size.trials; round++) {
    const order = backends.map((_, b) => round % 2 === 0 ? b : backends.length - 1 - b)
    for (const b of order) {
      const latencies = await measure(backends[b]!)
      samples[b]!.p50.push(percentile(latencies, 50))
      samples[b]!.p99.push(percentile(latencies, 99))
    }
  }
  const rows: Array<Figure> = backends.flatMap((backend, b) => [
    summarize(rowName(backend.name, size.writers, "p50"), samples[b]!.p50, "ms"),
    summarize(rowName(backend.name, size.writers, "p99"), samples[b]!.p99, "ms")
  ])
  return {
    id: "latency",
    title: "Live delivery latency",
    unit: "ms",
    rows,
    notes: `${size.writers} writers append one event at a time, ${size.appends} appends each per trial, each to a ` +
      `stream of its own with its expected version, pausing between 0 and ${size.pauseMillis} ms (drawn evenly) ` +
      `between appends; a subscriber in the same process, started with \`subscribe({ after: "end" })\`, notes when ` +
      `each event reaches it. A figure is the time from the append's acknowledgement in its writer to the delivery ` +
      `(0 when the subscriber had it first), and each trial's p50 and p99 of its ` +
      `${(size.writers * size.appends).toLocaleString("en-US")} deliveries is one sample; every store runs once per ` +
      `round on a fresh store, ${size.trials} rounds after one uncounted trial each. PostgreSQL's pool has a ` +
      `connection per writer and one for the subscriber's reads.` +
      [...unreleased].map(([store, trials]) =>
        ` ${store}: in ${trials} trial(s) the subscription had not ended ${releaseTimeout} after its interruption ` +
        `(a subscription must let go at once: a bug of the store, not of the measurement).`
      ).join("") +
      (pgUrl === undefined ? " PostgreSQL was not available in this run." : "")
  }
}
