// Workload 4: the cost of an append as the stream grows and as the writer falls behind: it must stay flat, since
// an append reads only its stream's head and the relevant events after the expected version.
import { ExpectedVersion, StreamId } from "@concord/core"
import { Registry } from "@concord/example-crm"
import { SqlEventStore } from "@concord/sql"
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

/** Fills `client-long` with `length` notes straight through SQL, as the store would have written them. */
const fillSql = (length: number) => ({
  sqlite: (file: string) => {
    const db = new Database(file)
    db.exec(`WITH RECURSIVE n(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM n WHERE v < ${length})
      INSERT INTO concord_events (stream_id, version, event_id, type, data, metadata, recorded_at, batch_first, batch_last, rebased_over)
      SELECT 'client-long', v, 'fill-' || v, 'MeetingNoteAdded', '{"noteId":"f","author":"fill","text":"x"}', '{}', '2026-01-01T00:00:00.000Z', v, v, 0 FROM n;
      INSERT INTO concord_streams (stream_id, version) VALUES ('client-long', ${length});`)
    db.close()
  },
  pg: async (url: string) => {
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    await client.query(
      `INSERT INTO concord_events (stream_id, version, event_id, type, data, metadata, recorded_at, batch_first, batch_last, rebased_over)
      SELECT 'client-long', v, 'fill-' || v, 'MeetingNoteAdded', '{"noteId":"f","author":"fill","text":"x"}', '{}', now(), v, v, 0
      FROM generate_series(1, ${length}) AS v`
    )
    await client.query(`INSERT INTO concord_streams (stream_id, version) VALUES ('client-long', ${length})`)
    await client.query("ANALYZE")
    await client.end()
  }
})

/** Median latency of `appends` single-event appends, each `behind` versions behind the stream's end. */
const latency = async (opened: Awaited<ReturnType<typeof Stores.concord>>, appends: number, behind: number) => {
  const stream = StreamId.make("client-long")
  const samples: Array<number> = []
  for (let i = 0; i < appends; i++) {
    const current = await opened.run(opened.store.version(stream))
    const begun = performance.now()
    await opened.run(opened.store.append(stream, ExpectedVersion.exact(Math.max(0, current - behind)), [note(i)]))
    samples.push(performance.now() - begun)
  }
  return percentile(samples, 50)
}

export const run = async (size: GrowthSize, pgUrl: string | undefined): Promise<Section> => {
  const rows: Array<Figure> = []
  const flatness: Array<string> = []
  const backends = [
    {
      name: "SQLite",
      open: async (length: number) => {
        const file = Stores.freshFile()
        // Create the schema through the store, fill it, then reopen.
        await (await Stores.concordSqlite(file)).dispose()
        fillSql(length).sqlite(file)
        return Stores.concord(SqlEventStore.layerSqlite({ filename: file, registry: Registry.registry }))
      }
    },
    ...(pgUrl === undefined ? [] : [{
      name: "PostgreSQL",
      open: async (length: number) => {
        const url = await Stores.freshDatabase(pgUrl)
        await (await Stores.concordPg(url, 1)).dispose()
        await fillSql(length).pg(url)
        return Stores.concord(SqlEventStore.layerPg({ url, maxConnections: 1, registry: Registry.registry }))
      }
    }])
  ]
  for (const backend of backends) {
    for (const length of size.lengths) {
      const opened = await backend.open(length)
      for (const behind of size.behind) {
        const samples: Array<number> = []
        for (let t = 0; t < size.trials; t++) samples.push(await latency(opened, size.appends, behind))
        rows.push(summarize(`${backend.name}: stream of ${length} events, ${behind} behind`, samples, "ms"))
      }
      await opened.dispose()
    }
    const mine = rows.filter((row) => row.name.startsWith(backend.name))
    const medians = mine.map((row) => row.median)
    flatness.push(
      `${backend.name}: slowest / fastest median ${(Math.max(...medians) / Math.min(...medians)).toFixed(2)}x`
    )
  }
  return {
    id: "growth",
    title: "Append latency as the stream grows and the writer falls behind",
    unit: "ms",
    rows,
    notes: `Median latency of single-event appends (notes, which the CRM registry lets pass other notes, so a stale ` +
      `append reads only the delta's relevant events). Target: flat within ±20%. ${flatness.join("; ")}.`
  }
}
