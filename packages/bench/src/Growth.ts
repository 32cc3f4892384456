// Workload 4: the cost of an append as the stream grows and as the writer falls behind: it must stay flat, since
// an append reads only its stream's head and the relevant events after the expected version.
import { ExpectedVersion, StreamId } from "@concord/core"
import { Registry } from "@concord/example-crm"
import { PgEventStore } from "@concord/sql/pg"
import { SqliteEventStore } from "@concord/sql/sqlite"
import Database from "better-sqlite3"
import pg from "pg"
import { type Figure, percentile, type Section, summarize } from "./Measure.js"
import * as Stores from "./Stores.js"

export interface GrowthSize {
  readonly lengths: ReadonlyArray<number>
  readonly behind: ReadonlyArray<number>
  readonly appends: number
  readonly trials: number
}

const note = (i: number) => ({ type: "MeetingNoteAdded", data: { noteId: `n${i}`, author: "bench", text: "growth" } })

/** Filling rows straight through SQL, as the store would have written them: `length` notes in each stream. */
const fillRows = (streams: ReadonlyArray<{ readonly name: string; readonly length: number }>) => ({
  sqlite: (file: string) => {
    const db = new Database(file)
    for (const { length, name } of streams) {
      db.exec(`WITH RECURSIVE n(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM n WHERE v < ${length})
        INSERT INTO concord_events (stream_id, version, event_id, type, data, metadata, recorded_at, batch_first, batch_last, rebased_over)
        SELECT '${name}', v, '${name}-fill-' || v, 'MeetingNoteAdded', '{"noteId":"f","author":"fill","text":"x"}', '{}', '2026-01-01T00:00:00.000Z', v, v, 0 FROM n;
        INSERT INTO concord_streams (stream_id, version) VALUES ('${name}', ${length});`)
    }
    db.exec("ANALYZE")
    db.close()
  },
  pg: async (url: string) => {
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    for (const { length, name } of streams) {
      await client.query(
        `INSERT INTO concord_events (stream_id, version, event_id, type, data, metadata, recorded_at, batch_first, batch_last, rebased_over)
        SELECT '${name}', v, '${name}-fill-' || v, 'MeetingNoteAdded', '{"noteId":"f","author":"fill","text":"x"}', '{}', now(), v, v, 0
        FROM generate_series(1, ${length}) AS v`
      )
      await client.query(`INSERT INTO concord_streams (stream_id, version) VALUES ('${name}', ${length})`)
    }
    await client.query("ANALYZE")
    await client.end()
  }
})

type Opened = Awaited<ReturnType<typeof Stores.concord>>

/** Median latency of `appends` single-event appends to `stream`, each `behind` versions behind the stream's end. */
const latency = async (opened: Opened, stream: StreamId.StreamId, appends: number, behind: number) => {
  const samples: Array<number> = []
  for (let i = 0; i < appends; i++) {
    const current = await opened.run(opened.store.version(stream))
    const begun = performance.now()
    await opened.run(opened.store.append(stream, ExpectedVersion.exact(Math.max(0, current - behind)), [note(i)]))
    samples.push(performance.now() - begun)
  }
  return percentile(samples, 50)
}

// Streams up to this many rows in all get a fresh stream of their length for every round, so that the appends of
// earlier rounds do not lengthen them; longer ones are filled once and grow by those appends (under 0.1% at 1,000,000).
const FRESH_PER_ROUND = 100_000

/** Each length's stream for each round. */
const streamsFor = (lengths: ReadonlyArray<number>, rounds: number) =>
  lengths.map((length) =>
    Array.from(
      { length: rounds },
      (_, round) => length * rounds <= FRESH_PER_ROUND ? `client-${length}-r${round}` : `client-${length}`
    )
  )

export const run = async (size: GrowthSize, pgUrl: string | undefined): Promise<Section> => {
  const rows: Array<Figure> = []
  const streams = streamsFor(size.lengths, size.trials)
  const fill = fillRows(
    [...new Set(streams.flat())].map((name) => ({ name, length: Number(/^client-(\d+)/.exec(name)![1]) }))
  )
  // One store per backend holds every stream, so that every cell runs against tables of the same size: only the
  // stream's length and how far behind the writer is differ between cells.
  const backends = [
    {
      name: "SQLite",
      open: async () => {
        const file = Stores.freshFile()
        // Create the schema through the store, fill it, then reopen.
        await (await Stores.concordSqlite(file)).dispose()
        fill.sqlite(file)
        return Stores.concord(SqliteEventStore.layer({ filename: file, registry: Registry.registry }))
      }
    },
    ...(pgUrl === undefined ? [] : [{
      name: "PostgreSQL",
      open: async () => {
        const url = await Stores.freshDatabase(pgUrl)
        await (await Stores.concordPg(url, 1)).dispose()
        await fill.pg(url)
        return Stores.concord(PgEventStore.layer({ url, maxConnections: 1, registry: Registry.registry }))
      }
    }])
  ]
  // A writer cannot be further behind than the stream is long: such a cell would measure a smaller lag.
  const cells = size.lengths.flatMap((length, l) =>
    size.behind.filter((behind) => behind < length).map((behind) => ({ length, l, behind }))
  )
  for (const backend of backends) {
    const opened = await backend.open()
    // Warm-up: the same appends on a stream of its own, so that JIT, statement caches and the connection are warm
    // before the first measured cell (the first cell of a cold store used to be the slowest).
    const warmUp = StreamId.make("warm-up")
    await opened.run(opened.store.append(warmUp, ExpectedVersion.noStream, [note(0)]))
    for (const behind of size.behind) await latency(opened, warmUp, size.appends, behind)
    const samples = cells.map(() => [] as Array<number>)
    for (let round = 0; round < size.trials; round++) {
      // Round by round every cell once, starting one cell later each round, so no cell always goes first.
      for (let k = 0; k < cells.length; k++) {
        const c = (k + round) % cells.length
        const { behind, l } = cells[c]!
        samples[c]!.push(await latency(opened, StreamId.make(streams[l]![round]!), size.appends, behind))
      }
    }
    await opened.dispose()
    const mine = cells.map(({ behind, length }, c) =>
      summarize(`${backend.name}: stream of ${length} events, ${behind} behind`, samples[c]!, "ms")
    )
    rows.push(...mine)
  }
  return {
    id: "growth",
    title: "Append latency as the stream grows and the writer falls behind",
    unit: "ms",
    rows,
    notes: `Median latency of single-event appends (notes, which the CRM registry lets pass other notes, so a stale ` +
      `append reads only the delta's relevant events). One store per backend holds every stream; after ` +
      `${
        size.appends * size.behind.length
      } warm-up appends, the cells take turns round by round, ${size.trials} rounds. ` +
      `Streams of up to ${FRESH_PER_ROUND.toLocaleString("en-US")} rows in all are fresh for each round; longer ones ` +
      `are shared by the rounds and lengthened by their appends; a round's appends lengthen its streams for the cells ` +
      `after them. Cells where the lag exceeds the stream's length are left out. Target: flat with the stream's ` +
      `length within ±20% (see the targets table).`
  }
}
