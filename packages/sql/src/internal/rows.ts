import { Event, EventStore, Position, StreamVersion } from "@concord/core"
import type { StoreBackend, StreamId } from "@concord/core"
import type * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Effect from "effect/Effect"

/** The databases the store runs on. */
export type Dialect = "pg" | "sqlite"

/** An event's row as the store selects it (see {@link eventColumns}). */
export interface EventRow {
  readonly event_id: string
  readonly stream_id: string
  readonly version: number
  readonly type: string
  readonly data: unknown
  readonly metadata: unknown
  readonly recorded_at: unknown
  /** A whole number, as a number or its decimal text (drivers differ for 64-bit integers). */
  readonly position: number | string | bigint
  /** PostgreSQL: the writing transaction's id, as text. */
  readonly tx_id?: string | undefined
}

/** Where a stored event id lives, and the shape of the batch that stored it (see `StoreBackend.StoredId`). */
export interface StoredIdRow {
  readonly event_id: string
  readonly stream_id: string
  readonly version: number
  readonly batch_first: number
  readonly batch_last: number
  readonly rebased_over: number
}

/**
 * A {@link StoredIdRow} as the shared append takes it. Throws on a corrupt row.
 *
 * @internal
 */
export const toStoredId = (row: StoredIdRow): StoreBackend.StoredId => ({
  id: Event.EventId.make(row.event_id),
  version: StreamVersion.make(Number(row.version)),
  batch: {
    streamId: row.stream_id as StreamId.StreamId,
    firstVersion: StreamVersion.make(Number(row.batch_first)),
    lastVersion: StreamVersion.make(Number(row.batch_last)),
    rebasedOver: Number(row.rebased_over)
  }
})

/**
 * The columns of an {@link EventRow}. PostgreSQL's `xid8` has no JavaScript type, so its id comes as text.
 *
 * @internal
 */
export const eventColumns = (sql: SqlClient.SqlClient, dialect: Dialect) =>
  sql.literal(
    dialect === "pg"
      ? "event_id, stream_id, version, type, data, metadata, recorded_at, position, tx_id::text AS tx_id"
      : "event_id, stream_id, version, type, data, metadata, recorded_at, position"
  )

/**
 * A stored event id. Every id was checked when it was written, so a read checks only what a damaged row could break
 * (a missing or empty id, one too long), without the Schema's full check: catching up reads many of them.
 */
const idOf = (id: unknown): Event.EventId =>
  typeof id === "string" && id.length > 0 && id.length <= 128 ? id as Event.EventId : Event.EventId.make(id as string)

const parseJson = (value: unknown): unknown => typeof value === "string" ? JSON.parse(value) : value

/**
 * An event's position from its row: {commit: tx_id, sequence: position} on PostgreSQL, {commit: 0, sequence:
 * position} on SQLite. Throws on a value that is not one.
 *
 * @internal
 */
export const positionOf = (row: Pick<EventRow, "position" | "tx_id">): Position.Position =>
  Position.make({
    commit: row.tx_id === undefined || row.tx_id === null ? 0n : BigInt(row.tx_id),
    sequence: BigInt(row.position)
  })

/**
 * A row as the event it stores. Throws on a corrupt row (a version that is not a count, data that is not JSON, an
 * empty id).
 *
 * @internal
 */
export const toRecorded = (dialect: Dialect) => {
  const timeOf = dialect === "sqlite" ? sqliteTime() : (value: unknown) => new Date(value as string | Date)
  const commitOf = lastCommit()
  return (row: EventRow): Event.RecordedEvent => ({
    id: idOf(row.event_id),
    streamId: row.stream_id as StreamId.StreamId,
    version: StreamVersion.make(Number(row.version)),
    type: row.type,
    data: dialect === "sqlite" ? parseJson(row.data) : row.data,
    metadata: (dialect === "sqlite" ? parseJson(row.metadata) : row.metadata) as Event.Metadata,
    recordedAt: timeOf(row.recorded_at),
    position: Position.make({ commit: commitOf(row.tx_id), sequence: BigInt(row.position) })
  })
}

/** A PostgreSQL transaction id's text as a number; the events of one transaction come together, so the last is kept. */
const lastCommit = () => {
  let lastText: unknown = undefined
  let lastCommit = 0n
  return (text: string | null | undefined): bigint => {
    if (text === undefined || text === null) return 0n
    if (text !== lastText) {
      lastCommit = BigInt(text)
      lastText = text
    }
    return lastCommit
  }
}

/**
 * SQLite keeps times as ISO text. The events of one append share theirs, and parsing the text costs several times
 * building a Date from its milliseconds, so the last text parsed is remembered. Each event still gets its own Date.
 */
const sqliteTime = () => {
  let lastText: unknown = undefined
  let lastMillis = 0
  return (value: unknown): Date => {
    if (value !== lastText || typeof value !== "string") {
      lastMillis = new Date(value as string).getTime()
      lastText = value
    }
    return new Date(lastMillis)
  }
}

/**
 * Rows as the store's values. The constructors throw on a corrupt row: that is the store failing, a typed
 * `StoreError`, never a defect.
 *
 * @internal
 */
export const decodeRows = <Row, A>(decode: (row: Row) => A, failed: (cause: unknown) => EventStore.StoreError) =>
(
  rows: ReadonlyArray<Row>
): Effect.Effect<Array<A>, EventStore.StoreError> => Effect.try({ try: () => rows.map(decode), catch: failed })

/** @internal */
export const storeError = (operation: string) => (cause: unknown) => new EventStore.StoreError({ operation, cause })

/**
 * Runs a read again when PostgreSQL cancelled it (`57014`) though nothing asked it to: `@effect/sql-pg` cancels an
 * interrupted fiber's statement with `pg_cancel_backend`, which names only the connection, and when that statement
 * finished first the cancel lands on the next statement of the pooled connection (Effect-TS/effect#8068) — a
 * subscriber's read, say, after another subscriber was stopped. A read changes nothing, so it may simply run again;
 * one cancelled every time (a `statement_timeout`) still fails after a few tries.
 *
 * @internal
 */
export const retryCancelled = <A, R>(read: Effect.Effect<A, SqlError, R>): Effect.Effect<A, SqlError, R> =>
  Effect.retry(read, {
    while: (error) => (error.cause as { code?: unknown } | undefined)?.code === "57014",
    times: 3
  })

/**
 * The rows that store a batch's events, each with the batch's shape (its first and last version, what it was rebased
 * over), which an append sent again answers with.
 *
 * @internal
 */
export const eventRows = (records: ReadonlyArray<StoreBackend.PendingEvent>, batch: EventStore.AppendResult) =>
  records.map((record) => ({
    stream_id: record.streamId,
    version: record.version,
    event_id: record.id,
    type: record.type,
    data: JSON.stringify(record.data),
    metadata: JSON.stringify(record.metadata),
    recorded_at: record.recordedAt.toISOString(),
    batch_first: batch.firstVersion,
    batch_last: batch.lastVersion,
    rebased_over: batch.rebasedOver
  }))
