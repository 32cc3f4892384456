import { ConflictRegistry, Event, EventStore, StoreBackend, StreamVersion } from "@concord/core"
import type { StreamId } from "@concord/core"
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Chunk from "effect/Chunk"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { Options } from "../SqlEventStore.js"
import * as Migrations from "./migrations.js"
import * as StoreOptions from "./options.js"
import * as SqliteTransaction from "./sqliteTransaction.js"

const PAGE = 1_000

/** The largest version a stream can reach: the version columns are 32-bit integers on PostgreSQL. */
const MAX_VERSION = 2_147_483_647

interface EventRow {
  readonly event_id: string
  readonly stream_id: string
  readonly version: number
  readonly type: string
  readonly data: unknown
  readonly metadata: unknown
  readonly recorded_at: unknown
}

interface StoredIdRow {
  readonly event_id: string
  readonly stream_id: string
  readonly version: number
  readonly batch_first: number
  readonly batch_last: number
  readonly rebased_over: number
}

/** A unique constraint refused a write: another writer won a race the lock should have prevented. */
const isUniqueViolation = (error: SqlError): boolean => {
  const code = (error.cause as { code?: unknown } | undefined)?.code
  return code === "23505" || code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY"
}

class UniqueViolation extends Data.TaggedError("UniqueViolation")<{ readonly cause: SqlError }> {}

/** @internal */
export const make = (options: Options = {}) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const names = Migrations.tables(options.tablePrefix ?? "concord_")
    const registry = options.registry ?? ConflictRegistry.untyped()
    const dialect = sql.onDialectOrElse({
      pg: () => "pg" as const,
      sqlite: () => "sqlite" as const,
      orElse: () => "other" as const
    })
    if (dialect === "other") return yield* Effect.dieMessage("Concord's SQL store supports SQLite and PostgreSQL")
    const lockTimeout = options.lockTimeoutMillis === undefined
      ? undefined
      : yield* StoreOptions.millis("lockTimeoutMillis", options.lockTimeoutMillis)
    const events = sql(names.events)
    const streams = sql(names.streams)

    const storeError = (operation: string) => (cause: unknown) => new EventStore.StoreError({ operation, cause })

    yield* Migrations.run(names, dialect).pipe(Effect.mapError(storeError("run the store's migrations")))

    const parseJson = (value: unknown): unknown => typeof value === "string" ? JSON.parse(value) : value

    const toRecorded = (row: EventRow): Event.RecordedEvent => ({
      id: Event.EventId.make(row.event_id),
      streamId: row.stream_id as StreamId.StreamId,
      version: StreamVersion.make(Number(row.version)),
      type: row.type,
      data: dialect === "sqlite" ? parseJson(row.data) : row.data,
      metadata: (dialect === "sqlite" ? parseJson(row.metadata) : row.metadata) as Event.Metadata,
      recordedAt: new Date(row.recorded_at as string | Date)
    })

    const toStoredId = (row: StoredIdRow): StoreBackend.StoredId => ({
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
     * Rows as the store's values. The constructors throw on a corrupt row (a version that is not a count, data that
     * is not JSON, an empty id): that is the store failing, a typed `StoreError`, never a defect.
     */
    const decodeRows = <Row, A>(decode: (row: Row) => A, failed: (cause: unknown) => EventStore.StoreError) =>
    (
      rows: ReadonlyArray<Row>
    ): Effect.Effect<Array<A>, EventStore.StoreError> => Effect.try({ try: () => rows.map(decode), catch: failed })

    const versionOf = (
      rows: ReadonlyArray<{ readonly version: number }>,
      failed: (cause: unknown) => EventStore.StoreError
    ) => Effect.try({ try: () => StreamVersion.make(Number(rows[0]?.version ?? 0)), catch: failed })

    /**
     * The per-stream critical section. PostgreSQL locks the stream's row (creating it if need be), so writers of
     * other streams go on in parallel; SQLite takes its write lock before the first read (`BEGIN IMMEDIATE`).
     */
    const lockedTransaction = <A, E, R>(
      streamId: StreamId.StreamId,
      body: (current: StreamVersion.StreamVersion) => Effect.Effect<A, E, R>
    ) => {
      const failed = storeError(`append to stream ${streamId}`)
      return dialect === "pg"
        ? sql.withTransaction(Effect.gen(function*() {
          if (lockTimeout !== undefined) {
            // SET takes no bound parameters; the value is a validated integer.
            yield* sql.unsafe(`SET LOCAL lock_timeout = ${lockTimeout}`)
          }
          // One round trip takes the stream row's lock (creating the row if need be) and reads its version.
          const rows = yield* sql<{ version: number }>`INSERT INTO ${streams} (stream_id, version)
            VALUES (${streamId}, 0) ON CONFLICT (stream_id) DO UPDATE SET version = ${streams}.version
            RETURNING version`
          return yield* body(yield* versionOf(rows, failed))
        }))
        : SqliteTransaction.immediate(
          sql,
          sql<{ version: number }>`SELECT version FROM ${streams} WHERE stream_id = ${streamId}`.pipe(
            Effect.flatMap((rows) => versionOf(rows, failed)),
            Effect.flatMap(body)
          )
        )
    }

    const backend = (
      streamId: StreamId.StreamId,
      current: StreamVersion.StreamVersion
    ): StoreBackend.Backend<UniqueViolation> => {
      const failed = storeError(`append to stream ${streamId}`)
      return {
        currentVersion: Effect.succeed(current),
        committedAfter: (version, except) =>
          sql<EventRow>`SELECT event_id, stream_id, version, type, data, metadata, recorded_at FROM ${events}
            WHERE stream_id = ${streamId} AND version > ${version}
            ${except.length === 0 ? sql`` : sql`AND NOT ${sql.in("type", except)}`}
            ORDER BY version`.pipe(
            Effect.mapError(failed),
            Effect.flatMap(decodeRows(toRecorded, failed))
          ),
        findIds: (ids) =>
          sql<StoredIdRow>`SELECT event_id, stream_id, version, batch_first, batch_last, rebased_over FROM ${events}
            WHERE ${sql.in("event_id", ids)}`.pipe(
            Effect.mapError(failed),
            Effect.flatMap(decodeRows(toStoredId, failed))
          ),
        write: (records, batch) => {
          const rows = sql.insert(records.map((record) => ({
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
          })))
          return (dialect === "pg"
            // The stream row exists (the lock made it): the events and the new version go in one statement.
            ? sql`WITH appended AS (INSERT INTO ${events} ${rows} RETURNING 1)
                UPDATE ${streams} SET version = ${batch.lastVersion} WHERE stream_id = ${streamId}`
            : Effect.zipRight(
              sql`INSERT INTO ${events} ${rows}`,
              sql`INSERT INTO ${streams} (stream_id, version) VALUES (${streamId}, ${batch.lastVersion})
                ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version`
            )).pipe(
              Effect.mapError((error) =>
                isUniqueViolation(error) ? new UniqueViolation({ cause: error }) : failed(error)
              )
            )
        }
      }
    }

    const service: EventStore.Service = {
      append: (streamId, expected, proposed, appendOptions) =>
        lockedTransaction(streamId, (current) =>
          StoreBackend.append(
            backend(streamId, current),
            appendOptions?.registry ?? registry,
            streamId,
            expected,
            proposed
          )).pipe(
            // The unique constraints are the last line of defence: a violation means another writer won a race (on
            // PostgreSQL, a batch of another stream taking one of the same event ids), so the whole check runs again
            // rather than failing blindly; it then sees the winner's events.
            Effect.tapErrorTag("UniqueViolation", () =>
              Effect.logWarning("another writer won a race for a unique key; checking the append again").pipe(
                Effect.annotateLogs({ stream: streamId })
              )),
            Effect.retry({
              while: (error) => error._tag === "UniqueViolation",
              times: 3
            }),
            Effect.mapError((error) =>
              error._tag === "SqlError" || error._tag === "UniqueViolation"
                ? storeError(`append to stream ${streamId}`)(error)
                : error
            ),
            Effect.withSpan("EventStore.append", { attributes: { streamId } })
          ),
      read: (streamId, readOptions) => {
        // Past the largest possible version nothing is stored: the bound keeps the parameter a 32-bit integer, which
        // PostgreSQL would otherwise refuse. A bound that is not a number reads from the start, or everything.
        const from = Math.min(MAX_VERSION + 1, Math.max(1, Math.ceil(readOptions?.from ?? 1) || 1))
        const requested = Math.floor(readOptions?.limit ?? Infinity)
        const limit = Number.isNaN(requested) ? Infinity : Math.max(0, requested)
        const failed = storeError(`read stream ${streamId}`)
        return Stream.paginateChunkEffect({ after: from - 1, left: limit }, ({ after, left }) =>
          left <= 0
            ? Effect.succeed([Chunk.empty<Event.RecordedEvent>(), Option.none()] as const)
            : sql<EventRow>`SELECT event_id, stream_id, version, type, data, metadata, recorded_at FROM ${events}
                WHERE stream_id = ${streamId} AND version > ${after} ORDER BY version LIMIT ${Math.min(PAGE, left)}`
              .pipe(
                Effect.mapError(failed),
                Effect.flatMap(decodeRows(toRecorded, failed)),
                Effect.map((page) => {
                  const last = page[page.length - 1]
                  const next = page.length === Math.min(PAGE, left) && last !== undefined
                    ? Option.some({ after: last.version, left: left - page.length })
                    : Option.none()
                  return [Chunk.unsafeFromArray(page), next] as const
                })
              ))
      },
      version: (streamId) => {
        const failed = storeError(`read the version of stream ${streamId}`)
        return sql<{ version: number }>`SELECT version FROM ${streams} WHERE stream_id = ${streamId}`.pipe(
          Effect.mapError(failed),
          Effect.flatMap((rows) => versionOf(rows, failed))
        )
      }
    }
    return service
  })
