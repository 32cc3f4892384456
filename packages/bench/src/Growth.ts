// Workload 4: the cost of an append as the stream grows and as the writer falls behind: it must stay flat, since
// an append reads only its stream's head and the relevant events after the expected version.
import { ExpectedVersion, StreamId } from "@concord/core"
import { Registry } from "@concord/example-crm"
import { PgEventStore } from "@concord/sql/pg"
import { SqliteEventStore } from "@concord/sql/sqlite"
import Database from "better-sqlite3"
import pg from "pg"
import { type Figure, median, type Section, summarize } from "./Measure.js"
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

/** The latency of one single-event append to `stream`, `behind` versions behind the stream's end. */
const appendLatency = async (opened: Opened, stream: StreamId.StreamId, behind: number, i: number) => {
  const current = await opened.run(opened.store.version(stream))
  const begun = performance.now()
  await opened.run(opened.store.append(stream, ExpectedVersion.exact(Math.max(0, current - behind)), [note(i)]))
  return performance.now() - begun
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

/**
 * A backend: how to open its store filled with every stream, and how to bring the database to the same state before
 * every block of measured appends, so that no block pays for what earlier ones left behind.
 */
interface Backend {
  readonly name: string
  readonly open: () => Promise<
    { readonly opened: Opened; readonly settle: () => Promise<void>; readonly close: () => Promise<void> }
  >
}

const sqliteBackend = (fill: ReturnType<typeof fillRows>): Backend => ({
  name: "SQLite",
  open: async () => {
    const file = Stores.freshFile()
    // Create the schema through the store, fill it, then reopen.
    await (await Stores.concordSqlite(file)).dispose()
    fill.sqlite(file)
    const opened = await Stores.concord(SqliteEventStore.layer({ filename: file, registry: Registry.registry }))
    // A second connection empties the write-ahead log before every block: otherwise the log grows across blocks
    // until SQLite's automatic checkpoint (at 1,000 pages) copies it back into the file, with an fsync, inside
    // whichever append crosses the mark, and readers look pages up in a log of varying length.
    const side = new Database(file)
    return {
      opened,
      settle: async () => void side.pragma("wal_checkpoint(TRUNCATE)"),
      close: async () => {
        side.close()
        await opened.dispose()
      }
    }
  }
})

const pgBackend = (fill: ReturnType<typeof fillRows>, pgUrl: string): Backend => ({
  name: "PostgreSQL",
  open: async () => {
    const url = await Stores.freshDatabase(pgUrl)
    await (await Stores.concordPg(url, 1)).dispose()
    await fill.pg(url)
    // After a million inserted rows autovacuum would vacuum and analyse the table in the middle of the measurements,
    // on the same two cores: done here, before them, it has nothing left to do.
    const side = new pg.Client({ connectionString: url })
    await side.connect()
    await side.query("VACUUM ANALYZE")
    await side.query("CHECKPOINT")
    const opened = await Stores.concord(PgEventStore.layer({ url, maxConnections: 1, registry: Registry.registry }))
    return {
      opened,
      settle: async () => void await side.query("CHECKPOINT"),
      close: async () => {
        await side.end()
        await opened.dispose()
      }
    }
  }
})

/**
 * Every cell is a stream length at a lag. Within a round, the lags take turns (starting one later each round), and
 * within a lag, the streams of every length take turns append by append (starting one later each append), so that
 * the longer streams and the shortest one are measured under the same conditions, side by side: the ratio the target
 * reads pairs a longer stream's median with the shortest's of the same round and lag.
 */
const measure = async (backend: Backend, size: GrowthSize, streams: ReadonlyArray<ReadonlyArray<string>>) => {
  const { close, opened, settle } = await backend.open()
  try {
    // Warm-up: the same appends on a stream of its own, so that JIT, statement caches and the connection are warm
    // before the first measured block.
    const warmUp = StreamId.make("warm-up")
    await opened.run(opened.store.append(warmUp, ExpectedVersion.noStream, [note(0)]))
    for (const behind of size.behind) {
      for (let i = 0; i < size.appends; i++) await appendLatency(opened, warmUp, behind, i)
    }
    // A writer cannot be further behind than the stream is long: such a cell would measure a smaller lag.
    const cells = size.behind.flatMap((behind) =>
      size.lengths.flatMap((length, l) => (behind < length ? [{ behind, length, l }] : []))
    )
    const samples = cells.map(() => [] as Array<number>)
    for (let round = 0; round < size.trials; round++) {
      for (let b = 0; b < size.behind.length; b++) {
        const behind = size.behind[(b + round) % size.behind.length]!
        const block = cells.flatMap((cell, c) => (cell.behind === behind ? [{ ...cell, c }] : []))
        const stream = (l: number) => StreamId.make(streams[l]![round]!)
        await settle()
        // One unmeasured append per stream first: the block's first touch of each stream's pages.
        for (const { l } of block) await appendLatency(opened, stream(l), behind, 0)
        const latencies = block.map(() => [] as Array<number>)
        for (let i = 0; i < size.appends; i++) {
          for (let k = 0; k < block.length; k++) {
            const j = (k + i + round) % block.length
            latencies[j]!.push(await appendLatency(opened, stream(block[j]!.l), behind, i))
          }
        }
        block.forEach(({ c }, j) => samples[c]!.push(median(latencies[j]!)))
      }
    }
    return cells.map(({ behind, length }, c) =>
      summarize(`${backend.name}: stream of ${length} events, ${behind} behind`, samples[c]!, "ms")
    )
  } finally {
    await close()
  }
}

export const run = async (size: GrowthSize, pgUrl: string | undefined): Promise<Section> => {
  const streams = streamsFor(size.lengths, size.trials)
  const fill = fillRows(
    [...new Set(streams.flat())].map((name) => ({ name, length: Number(/^client-(\d+)/.exec(name)![1]) }))
  )
  // One store per backend holds every stream, so that every cell runs against tables of the same size: only the
  // stream's length and how far behind the writer is differ between cells.
  const backends = [sqliteBackend(fill), ...(pgUrl === undefined ? [] : [pgBackend(fill, pgUrl)])]
  const rows: Array<Figure> = []
  for (const backend of backends) rows.push(...await measure(backend, size, streams))
  return {
    id: "growth",
    title: "Append latency as the stream grows and the writer falls behind",
    unit: "ms",
    rows,
    notes: `Median latency of single-event appends (notes, which the CRM registry lets pass other notes, so a stale ` +
      `append reads only the delta's relevant events). One store per backend holds every stream; after ` +
      `${size.appends * size.behind.length} warm-up appends, ${size.trials} rounds, each a block per lag; before ` +
      `each block the database is brought to the same state (SQLite: the write-ahead log checkpointed and ` +
      `truncated; PostgreSQL: a checkpoint, after a VACUUM ANALYZE once filled), then each stream takes one ` +
      `unmeasured append, then the streams of every length take turns, ${size.appends} appends each. A cell's ` +
      `figure per round is the median of its appends. Streams of up to ${
        FRESH_PER_ROUND.toLocaleString("en-US")
      } rows in all are fresh for each round; longer ones are shared by the rounds and lengthened by their appends. ` +
      `Cells where the lag exceeds the stream's length are left out. Target: flat with the stream's length within ` +
      `±20% of the shortest stream of the same round and lag (see the targets table).`
  }
}
