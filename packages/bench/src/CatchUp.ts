// Catching up: reading the whole global log with `readAll`, against a raw scan of the same table with the same
// driver, paged the same way (a thousand events a page, each page after the last one's position). The log is
// written once per store by Concord's own appends; every round then reads all of it with both, taking turns.
import { ExpectedVersion, StreamId } from "@concord/core"
import Database from "better-sqlite3"
import { Stream } from "effect"
import pg from "pg"
import { alternate, type Figure, rateAsync, type Section } from "./Measure.js"
import * as Stores from "./Stores.js"

export interface CatchUpSize {
  /** Events in each store's log. */
  readonly events: { readonly sqlite: number; readonly pg: number }
  /** Streams the log is spread over, appended to in turn in batches of 100. */
  readonly streams: number
  readonly trials: number
}

/** Events per page of the raw scans: what `readAll` asks of a store per read. */
const page = 1_000

/** The table a store keeps its events in, with the default prefix. */
const table = "concord_events"

/** The columns Concord reads into a RecordedEvent (PostgreSQL's also its transaction id). */
const columns = "position, stream_id, version, event_id, type, data, metadata, recorded_at"

const fillBatch = 100

const note = (i: number) => ({
  type: "MeetingNoteAdded",
  data: { noteId: `n${i}`, author: "bench", text: "x".repeat(40) }
})

/** Writes `events` events through Concord, spread over `streams` streams in batches. */
const fill = async (opened: Awaited<ReturnType<typeof Stores.concord>>, events: number, streams: number) => {
  const batch = Array.from({ length: fillBatch }, (_, i) => note(i))
  for (let a = 0; a < Math.ceil(events / fillBatch); a++) {
    await opened.run(opened.store.append(StreamId.make(`client-${a % streams}`), ExpectedVersion.any, batch))
  }
  return Math.ceil(events / fillBatch) * fillBatch
}

const count = (opened: Awaited<ReturnType<typeof Stores.concord>>) =>
  opened.run(Stream.runCount(opened.store.readAll()))

/** Reads the whole log with `readAll`, failing when it does not hold `expected` events. */
const readAll = (opened: Awaited<ReturnType<typeof Stores.concord>>, expected: number) => async () => {
  const read = await count(opened)
  if (read !== expected) throw new Error(`readAll read ${read} events of ${expected}`)
  return read
}

/**
 * Until `readAll` reads every event written. On PostgreSQL a reader sees only what no open transaction can still
 * precede, in any database of the cluster: an autovacuum ANALYZE, which takes a transaction id to write its
 * statistics, can start during a large fill and hold back what was committed after it began until it ends. A
 * `VACUUM ANALYZE` first leaves autovacuum nothing to do during the measurements, for both readers alike.
 */
const settle = async (opened: Awaited<ReturnType<typeof Stores.concord>>, expected: number, pgUrl?: string) => {
  if (pgUrl !== undefined) {
    const client = new pg.Client({ connectionString: pgUrl })
    await client.connect()
    await client.query(`VACUUM ANALYZE ${table}`)
    await client.end()
  }
  for (let attempt = 0; attempt < 300; attempt++) {
    if (await count(opened) === expected) return
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`readAll still read ${await count(opened)} of the ${expected} events written after 30 seconds`)
}

/** Pages through the log with `next` (the rows after a position), parsing what a reader must parse. */
const scan = async (
  expected: number,
  next: (after: string | number) => Promise<ReadonlyArray<{ position: string | number }>>
) => {
  let count = 0
  let after: string | number = 0
  for (;;) {
    const rows = await next(after)
    count += rows.length
    if (rows.length < page) break
    after = rows[rows.length - 1]!.position
  }
  if (count !== expected) throw new Error(`the raw scan read ${count} events of ${expected}`)
  return count
}

/** better-sqlite3 on the store's file: each page's rows with their data and metadata JSON parsed. */
const rawSqlite = (file: string) => {
  const db = new Database(file, { readonly: true })
  const statement = db.prepare(`SELECT ${columns} FROM ${table} WHERE position > ? ORDER BY position LIMIT ?`)
  const next = async (after: string | number) => {
    const rows = statement.all(after, page) as Array<{ position: number; data: string; metadata: string }>
    for (const row of rows) {
      JSON.parse(row.data)
      JSON.parse(row.metadata)
    }
    return rows
  }
  return { next, close: () => void db.close() }
}

/** `pg` on the store's database: the driver parses JSONB and timestamps itself, as it does for Concord. */
const rawPg = async (url: string) => {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  const text = `SELECT ${columns} FROM ${table} WHERE position > $1 ORDER BY position LIMIT ${page}`
  const next = async (after: string | number) =>
    (await client.query<{ position: string }>({ name: "catch-up-page", text, values: [after] })).rows
  return { next, close: () => client.end() }
}

/** One store's rows, named by the store and its driver: Concord's readAll, then the raw scan it is judged against. */
const compare = async (
  name: string,
  trials: number,
  opened: Awaited<ReturnType<typeof Stores.concord>>,
  raw: { readonly next: Parameters<typeof scan>[1]; readonly close: () => unknown },
  events: number
): Promise<ReadonlyArray<Figure>> => {
  try {
    return await alternate(
      trials,
      [
        { name: `${name}: Concord readAll`, trial: () => rateAsync(events, readAll(opened, events)) },
        { name: `${name}: raw scan`, trial: () => rateAsync(events, () => scan(events, raw.next)) }
      ],
      "events/s",
      { warmUp: true }
    )
  } finally {
    await raw.close()
    await opened.dispose()
  }
}

export const run = async (size: CatchUpSize, pgUrl: string | undefined): Promise<Section> => {
  const rows: Array<Figure> = []
  const file = Stores.freshFile()
  const sqlite = await Stores.concordSqlite(file)
  const sqliteEvents = await fill(sqlite, size.events.sqlite, size.streams)
  await settle(sqlite, sqliteEvents)
  rows.push(...await compare("SQLite (better-sqlite3)", size.trials, sqlite, rawSqlite(file), sqliteEvents))
  if (pgUrl !== undefined) {
    const url = await Stores.freshDatabase(pgUrl)
    const postgres = await Stores.concordPg(url, 1)
    const pgEvents = await fill(postgres, size.events.pg, size.streams)
    await settle(postgres, pgEvents, url)
    rows.push(...await compare("PostgreSQL (pg)", size.trials, postgres, await rawPg(url), pgEvents))
  }
  return {
    id: "catchup",
    title: "Catching up: reading the whole log",
    unit: "events/s",
    rows,
    notes: `Each store's log holds ${size.events.sqlite.toLocaleString("en-US")} events (SQLite) or ` +
      `${size.events.pg.toLocaleString("en-US")} (PostgreSQL), written by Concord in batches of ${fillBatch} ` +
      `over ${size.streams} streams (then, on PostgreSQL, \`VACUUM ANALYZE\`). Each round reads all of it once ` +
      `with \`readAll()\` and once with a raw scan on the same driver, \`SELECT … FROM ${table} WHERE position > ? ` +
      `ORDER BY position LIMIT ${page}\` page after page (what \`readAll\` asks per read), the order turning ` +
      `around every round; ${size.trials} rounds after one uncounted read each. The raw SQLite scan parses each ` +
      `row's data and metadata JSON (the pg driver parses JSONB itself); Concord also builds each event (its id and ` +
      `version through their checked constructors, its position, its time as a Date). One connection each.` +
      (pgUrl === undefined ? " PostgreSQL was not available in this run." : "")
  }
}
