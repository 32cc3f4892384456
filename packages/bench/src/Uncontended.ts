// Workload 2: uncontended appends on many streams, each with an expected version, against the raw drivers and
// Emmett's stores.
import * as EmmettSqlite from "@concord/bench-emmett-sqlite"
import { ExpectedVersion, StreamId } from "@concord/core"
import { STREAM_DOES_NOT_EXIST } from "@event-driven-io/emmett"
import { alternate, type Figure, rateAsync, type Section } from "./Measure.js"
import * as Stores from "./Stores.js"

export interface UncontendedSize {
  readonly batches: ReadonlyArray<number>
  readonly streams: number
  readonly events: {
    readonly memory: number
    readonly sqlite: number
    /** Fewer for Emmett's SQLite store: it opens and closes the database around every append. */
    readonly emmettSqlite: number
    readonly pg: number
  }
  readonly trials: number
}

const note = (i: number) => ({
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

const trial = (
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

const concordAppend = (opened: Awaited<ReturnType<typeof Stores.concord>>) => ({
  append: (stream: string, expected: number, events: ReadonlyArray<ReturnType<typeof note>>) =>
    opened.run(opened.store.append(StreamId.make(stream), ExpectedVersion.exact(expected), events)),
  close: opened.dispose
})

const emmettAppend = (store: ReturnType<typeof Stores.emmettMemory> | ReturnType<typeof Stores.emmettPg>) => ({
  append: (stream: string, expected: number, events: ReadonlyArray<ReturnType<typeof note>>) =>
    store.appendToStream(stream, events.map((e) => ({ ...e })), {
      expectedStreamVersion: expected === 0 ? STREAM_DOES_NOT_EXIST : BigInt(expected)
    }),
  close: () => ("close" in store ? store.close() : undefined)
})

export const run = async (size: UncontendedSize, pgUrl: string | undefined): Promise<Section> => {
  const rows: Array<Figure> = []
  const notes: Array<string> = []
  const compare = (label: string, [a, b]: ReadonlyArray<Figure>) =>
    notes.push(`${label}: ${(100 * a!.median / b!.median).toFixed(0)}%`)
  for (const batch of size.batches) {
    const memory = await alternate(size.trials, [
      {
        name: `memory, batch ${batch}: Concord layerMemory`,
        trial: trial(
          size.events.memory,
          batch,
          size.streams,
          1,
          async () => concordAppend(await Stores.concordMemory())
        )
      },
      {
        name: `memory, batch ${batch}: Emmett in-memory 0.42`,
        trial: trial(size.events.memory, batch, size.streams, 1, async () => emmettAppend(Stores.emmettMemory()))
      }
    ], "events/s")
    rows.push(...memory)
    compare(`memory batch ${batch}, Concord / Emmett`, memory)
    const sqlite = await alternate(size.trials, [
      {
        name: `SQLite, batch ${batch}: Concord layerSqlite`,
        trial: trial(
          size.events.sqlite,
          batch,
          size.streams,
          1,
          async () => concordAppend(await Stores.concordSqlite(Stores.freshFile()))
        )
      },
      {
        name: `SQLite, batch ${batch}: raw better-sqlite3`,
        trial: trial(size.events.sqlite, batch, size.streams, 1, async () => Stores.rawSqlite(Stores.freshFile()))
      },
      {
        name: `SQLite, batch ${batch}: Emmett SQLite 0.38.5`,
        trial: trial(
          size.events.emmettSqlite,
          batch,
          size.streams,
          1,
          () => EmmettSqlite.open(Stores.freshFile())
        )
      }
    ], "events/s")
    rows.push(...sqlite)
    compare(`SQLite batch ${batch}, Concord / raw`, sqlite)
    compare(`SQLite batch ${batch}, Concord / Emmett`, [sqlite[0]!, sqlite[2]!])
    if (pgUrl === undefined) continue
    for (const writers of [1, 8]) {
      const postgres = await alternate(size.trials, [
        {
          name: `PostgreSQL ${writers} writer(s), batch ${batch}: Concord layerPg`,
          trial: trial(
            size.events.pg,
            batch,
            size.streams,
            writers,
            async () => concordAppend(await Stores.concordPg(await Stores.freshDatabase(pgUrl), writers))
          )
        },
        {
          name: `PostgreSQL ${writers} writer(s), batch ${batch}: raw pg`,
          trial: trial(
            size.events.pg,
            batch,
            size.streams,
            writers,
            async () => Stores.rawPg(await Stores.freshDatabase(pgUrl), writers)
          )
        },
        {
          name: `PostgreSQL ${writers} writer(s), batch ${batch}: Emmett PostgreSQL 0.42`,
          trial: trial(size.events.pg, batch, size.streams, writers, async () => {
            const store = Stores.emmettPg(await Stores.freshDatabase(pgUrl))
            await store.appendToStream("warm-up", [note(0)]) // creates Emmett's schema outside the timing
            return emmettAppend(store)
          })
        }
      ], "events/s")
      rows.push(...postgres)
      compare(`PostgreSQL ${writers}w batch ${batch}, Concord / raw`, [postgres[0]!, postgres[1]!])
      compare(`PostgreSQL ${writers}w batch ${batch}, Concord / Emmett`, [postgres[0]!, postgres[2]!])
    }
  }
  return {
    id: "uncontended",
    title: "Uncontended appends",
    unit: "events/s",
    rows,
    notes:
      `Each append names its expected version; streams are spread over writers, so nothing conflicts. Ratios: ${
        notes.join("; ")
      }.` +
      (pgUrl === undefined ? " PostgreSQL was not available in this run." : "")
  }
}
