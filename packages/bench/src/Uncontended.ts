// Workload 2: uncontended appends on many streams, each with an expected version, against the raw drivers and
// Emmett's stores.
import { ExpectedVersion, StreamId } from "@concord/core"
import type * as Contenders from "./Contenders.js"
import { alternate, type Figure, rateAsync, type Section } from "./Measure.js"
import * as Stores from "./Stores.js"

export interface UncontendedSize {
  readonly batches: ReadonlyArray<number>
  readonly streams: number
  /**
   * Events per trial at batches of one; a trial at batch B appends √B times as many, so that trials at large batches
   * last long enough (a tenth of a second and more) for a pause of the machine not to dominate one of them.
   */
  readonly events: {
    readonly memory: number
    readonly sqlite: number
    /** Fewer for Emmett's SQLite store: it opens and closes the database around every append. */
    readonly emmettSqlite: number
    readonly pg: number
  }
  readonly trials: number
}

export const note = (i: number) => ({
  type: "MeetingNoteAdded",
  data: { noteId: `n${i}`, author: "bench", text: "x".repeat(40) }
})

/**
 * Appends `events` events in batches of `batch`, spread round-robin over `streams` streams, by `writers` concurrent
 * writers each owning its share of the streams; each append names the version it expects.
 */
const workload = async (
  events: number,
  batch: number,
  streams: number,
  writers: number,
  append: (stream: string, expected: number, events: ReadonlyArray<ReturnType<typeof note>>) => Promise<unknown>
) => {
  const appends = Math.max(1, Math.floor(events / batch))
  const versions = new Map<string, number>()
  const payload = Array.from({ length: batch }, (_, i) => note(i))
  await Promise.all(Array.from({ length: writers }, async (_, w) => {
    for (let a = w; a < appends; a += writers) {
      const stream = `client-${w}-${a % Math.max(1, Math.floor(streams / writers))}`
      const expected = versions.get(stream) ?? 0
      await append(stream, expected, payload)
      versions.set(stream, expected + batch)
    }
  }))
  return appends * batch
}

/** One trial: a fresh store from `open`, the workload on it, its rate in events/s; the store is closed after. */
export const trial = (
  events: number,
  batch: number,
  streams: number,
  writers: number,
  open: () => Promise<
    { readonly append: Parameters<typeof workload>[4]; readonly close: () => Promise<unknown> | unknown }
  >
) =>
async () => {
  const store = await open()
  try {
    return await rateAsync(events, () => workload(events, batch, streams, writers, store.append))
  } finally {
    await store.close()
  }
}

/**
 * Emmett's SQLite store fails a commit with SQLITE_BUSY, "cannot commit transaction - SQL statements in progress",
 * on a file no one else uses when libuv's thread pool finalizes the statement it read `INSERT … RETURNING` with while
 * its COMMIT runs on another pool thread. `npm run bench` runs with one pool thread, which orders the two; should it
 * still happen, the trial runs again on a fresh file, up to three times in all, and `retries` counts it for the notes.
 */
const emmettSqliteRetried = (run: () => Promise<number>, retries: { count: number }) => async () => {
  for (let attempt = 1;; attempt++) {
    try {
      return await run()
    } catch (error) {
      const busy = error instanceof Error && /SQLITE_BUSY/.test(error.message)
      if (!busy || attempt === 3) throw error
      retries.count++
    }
  }
}

/** Concord's store as the workload appends to it: each append its own `runPromise`, so writers are fibers. */
export const concordAppend = (opened: Awaited<ReturnType<typeof Stores.concord>>): {
  readonly append: (
    stream: string,
    expected: number,
    events: ReadonlyArray<ReturnType<typeof note>>
  ) => Promise<unknown>
  readonly close: () => Promise<void>
} => ({
  append: (stream: string, expected: number, events: ReadonlyArray<ReturnType<typeof note>>) =>
    opened.run(opened.store.append(StreamId.make(stream), ExpectedVersion.exact(expected), events)),
  close: opened.dispose
})

const emmettAppend = (emmett: Contenders.Emmett, store: Contenders.EmmettStore & { close?: () => Promise<void> }) => ({
  append: (stream: string, expected: number, events: ReadonlyArray<ReturnType<typeof note>>) =>
    store.appendToStream(stream, events.map((e) => ({ ...e })), {
      expectedStreamVersion: expected === 0 ? emmett.STREAM_DOES_NOT_EXIST : BigInt(expected)
    }),
  close: () => store.close?.()
})

/**
 * Emmett's SQLite store on `fileName`, its schema created before this returns so that no measurement pays for it.
 * Emmett opens and closes its connection around every call on a file: that is its design, and part of what is
 * measured.
 */
const emmettSqliteAppend = async (module: Contenders.EmmettSqlite, fileName: string) => {
  const store = module.getSQLiteEventStore({ fileName, schema: { autoMigration: "CreateOrUpdate" } })
  await store.appendToStream("warm-up", [{ type: "WarmedUp", data: {} }])
  return {
    append: (stream: string, expected: number, events: ReadonlyArray<ReturnType<typeof note>>) =>
      store.appendToStream(stream, events.map((event) => ({ type: event.type, data: { ...event.data } })), {
        expectedStreamVersion: BigInt(expected)
      }),
    close: () => {}
  }
}

interface Contender {
  readonly name: string
  readonly trial: () => Promise<number>
}

/**
 * One comparison: Concord and the others take turns round by round, Concord second, so that it runs next to the
 * first and the second of the others in every round (the order turns around every round); the rows list Concord
 * first.
 */
const compare = async (
  trials: number,
  concord: Contender,
  others: ReadonlyArray<Contender | undefined>,
  warmUp: boolean
): Promise<ReadonlyArray<Figure>> => {
  const [before, ...after] = others.filter((other) => other !== undefined)
  if (before === undefined) return alternate(trials, [concord], "events/s", { warmUp })
  const figures = await alternate(trials, [before, concord, ...after], "events/s", { warmUp })
  return [figures[1]!, figures[0]!, ...figures.slice(2)]
}

export const run = async (
  size: UncontendedSize,
  pgUrl: string | undefined,
  contenders: Contenders.Loaded
): Promise<Section> => {
  const rows: Array<Figure> = []
  const { emmett, emmettSqlite } = contenders
  const emmettSqliteRetries = { count: 0 }
  for (const batch of size.batches) {
    // The first batch size runs each contender's code for the first time: one uncounted trial each first.
    const warmUp = batch === size.batches[0]
    const events = {
      memory: Math.round(size.events.memory * Math.sqrt(batch)),
      sqlite: Math.round(size.events.sqlite * Math.sqrt(batch)),
      emmettSqlite: Math.round(size.events.emmettSqlite * Math.sqrt(batch)),
      pg: Math.round(size.events.pg * Math.sqrt(batch))
    }
    rows.push(
      ...await compare(
        size.trials,
        {
          name: `memory, batch ${batch}: Concord layerMemory`,
          trial: trial(
            events.memory,
            batch,
            size.streams,
            1,
            async () => concordAppend(await Stores.concordMemory())
          )
        },
        [
          emmett === undefined ? undefined : {
            name: `memory, batch ${batch}: Emmett in-memory 0.42`,
            trial: trial(
              events.memory,
              batch,
              size.streams,
              1,
              async () => emmettAppend(emmett, emmett.getInMemoryEventStore())
            )
          }
        ],
        warmUp
      )
    )
    rows.push(
      ...await compare(
        size.trials,
        {
          name: `SQLite, batch ${batch}: Concord layerSqlite`,
          trial: trial(
            events.sqlite,
            batch,
            size.streams,
            1,
            async () => concordAppend(await Stores.concordSqlite(Stores.freshFile(), "normal"))
          )
        },
        [
          {
            name: `SQLite, batch ${batch}: raw better-sqlite3`,
            trial: trial(events.sqlite, batch, size.streams, 1, async () => Stores.rawSqlite(Stores.freshFile()))
          },
          emmettSqlite === undefined ? undefined : {
            name: `SQLite, batch ${batch}: Emmett SQLite 0.38.5`,
            trial: emmettSqliteRetried(
              trial(
                events.emmettSqlite,
                batch,
                size.streams,
                1,
                () => emmettSqliteAppend(emmettSqlite, Stores.freshFile())
              ),
              emmettSqliteRetries
            )
          }
        ],
        warmUp
      )
    )
    if (pgUrl === undefined) continue
    for (const writers of [1, 8]) {
      rows.push(
        ...await compare(
          size.trials,
          {
            name: `PostgreSQL ${writers} writer(s), batch ${batch}: Concord layerPg`,
            trial: trial(
              events.pg,
              batch,
              size.streams,
              writers,
              async () => concordAppend(await Stores.concordPg(await Stores.freshDatabase(pgUrl), writers))
            )
          },
          [
            {
              name: `PostgreSQL ${writers} writer(s), batch ${batch}: raw pg`,
              trial: trial(
                events.pg,
                batch,
                size.streams,
                writers,
                async () => Stores.rawPg(await Stores.freshDatabase(pgUrl), writers)
              )
            },
            emmett === undefined ? undefined : {
              name: `PostgreSQL ${writers} writer(s), batch ${batch}: Emmett PostgreSQL 0.42`,
              trial: trial(events.pg, batch, size.streams, writers, async () => {
                const store = emmett.getPostgreSQLEventStore(await Stores.freshDatabase(pgUrl))
                await store.appendToStream("warm-up", [note(0)]) // creates Emmett's schema outside the timing
                return emmettAppend(emmett, store)
              })
            }
          ],
          warmUp
        )
      )
    }
  }
  return {
    id: "uncontended",
    title: "Uncontended appends",
    unit: "events/s",
    rows,
    notes: `Each append names its expected version; streams are spread over writers, so nothing conflicts. Each ` +
      `round runs every contender once on a fresh store (a fresh SQLite file or PostgreSQL database), the baseline, ` +
      `Concord and Emmett, the order turning around every round; ${size.trials} rounds, after one uncounted trial ` +
      `each at the first batch size. A trial appends ${size.events.memory.toLocaleString("en-US")} events to ` +
      `the memory stores, ${size.events.sqlite.toLocaleString("en-US")} to SQLite (` +
      `${size.events.emmettSqlite.toLocaleString("en-US")} to Emmett's) and ${
        size.events.pg.toLocaleString("en-US")
      } to PostgreSQL in single-event appends, √B times as many in batches of B. Ratios are taken per round ` +
      `(see the targets).` +
      (emmett === undefined ? " Emmett 0.42 was not measured in this run." : "") +
      (emmettSqlite === undefined ? " Emmett's SQLite store was not measured in this run." : "") +
      (emmettSqliteRetries.count === 0 ? "" : ` Emmett's SQLite store failed ${emmettSqliteRetries.count} trial(s) ` +
        `with SQLITE_BUSY ("cannot commit transaction - SQL statements in progress", a race between its COMMIT and ` +
        `the thread pool finalizing a statement); each ran again on a fresh file.`) +
      (pgUrl === undefined ? " PostgreSQL was not available in this run." : "")
  }
}
