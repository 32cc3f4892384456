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

/** The fast path did not apply: the stream is not at the expected version. Nothing was written. */
class Missed extends Data.TaggedError("Missed") {}

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

    const uniqueOr = (failed: (cause: unknown) => EventStore.StoreError) => (error: SqlError) =>
      isUniqueViolation(error) ? new UniqueViolation({ cause: error }) : failed(error)

    const eventRows = (records: ReadonlyArray<Event.RecordedEvent>, batch: EventStore.AppendResult) =>
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
        write: (records, batch) =>
          (dialect === "pg"
            // The stream row exists (the lock made it): the events and the new version go in one statement.
            ? sql`WITH appended AS (INSERT INTO ${events} ${sql.insert(eventRows(records, batch))} RETURNING 1)
                UPDATE ${streams} SET version = ${batch.lastVersion} WHERE stream_id = ${streamId}`
            : Effect.zipRight(
              sql`INSERT INTO ${events} ${sql.insert(eventRows(records, batch))}`,
              sql`INSERT INTO ${streams} (stream_id, version) VALUES (${streamId}, ${batch.lastVersion})
                ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version`
            )).pipe(Effect.mapError(uniqueOr(failed)))
      }
    }

    /**
     * Moves the stream row from `expected` to `last` if it is at `expected` (a missing row counts as version 0),
     * returning a row only if it did. A concurrent writer of the stream waits on the row's lock and then sees the
     * winner's version, so of two writers at the same expected version exactly one advances the row.
     */
    const advance = (streamId: StreamId.StreamId, expected: number, last: number) =>
      expected === 0
        ? sql`INSERT INTO ${streams} (stream_id, version) VALUES (${streamId}, ${last})
            ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version WHERE ${streams}.version = 0
            RETURNING version`
        : sql`UPDATE ${streams} SET version = ${last} WHERE stream_id = ${streamId} AND version = ${expected}
            RETURNING version`

    /**
     * The common append, whose expected version is the stream's current one, written without reading first.
     * PostgreSQL: one autocommit statement inserting the events only if the stream row advanced (the parameters are
     * typed, as `VALUES` in a subquery would otherwise make them text). SQLite: the guarded stream write, then the
     * events, under the write lock.
     */
    const optimisticWrite = (
      streamId: StreamId.StreamId,
      expected: number,
      records: ReadonlyArray<Event.RecordedEvent>,
      batch: EventStore.AppendResult
    ) =>
      dialect === "pg"
        ? sql<{ version: number }>`WITH advanced AS (${advance(streamId, expected, batch.lastVersion)}),
            appended AS (
              INSERT INTO ${events} (stream_id, version, event_id, type, data, metadata, recorded_at, batch_first,
                batch_last, rebased_over)
              SELECT * FROM (VALUES ${
          sql.csv(
            eventRows(records, batch).map((row) =>
              sql`(${row.stream_id}::text, ${row.version}::integer, ${row.event_id}::text, ${row.type}::text,
                ${row.data}::jsonb, ${row.metadata}::jsonb, ${row.recorded_at}::timestamptz,
                ${row.batch_first}::integer, ${row.batch_last}::integer, ${row.rebased_over}::integer)`
            )
          )
        }) AS batch WHERE EXISTS (SELECT FROM advanced))
            SELECT version FROM advanced`.pipe(
          Effect.filterOrFail((rows) => rows.length > 0, () => new Missed())
        )
        : SqliteTransaction.immediate(
          sql,
          advance(streamId, expected, batch.lastVersion).pipe(
            Effect.filterOrFail((rows) => rows.length > 0, () => new Missed()),
            Effect.zipRight(sql`INSERT INTO ${events} ${sql.insert(eventRows(records, batch))}`)
          )
        )

    /**
     * The backend of the fast path: it assumes the stream is at the expected version and that no event id of the
     * batch is stored, so the shared append validates and builds the batch without reading. The write checks both
     * assumptions (the guarded stream row, the unique event ids) and changes nothing if either is false.
     */
    const optimistic = (
      streamId: StreamId.StreamId,
      expected: StreamVersion.StreamVersion
    ): StoreBackend.Backend<Missed | UniqueViolation> => {
      const failed = storeError(`append to stream ${streamId}`)
      return {
        currentVersion: Effect.succeed(expected),
        // Read only when the expected version is behind the current one, which is assumed not to be.
        committedAfter: () => Effect.dieMessage("the fast path reads no committed events"),
        findIds: () => Effect.succeed([]),
        write: (records, batch) =>
          optimisticWrite(streamId, expected, records, batch).pipe(
            Effect.catchTag("SqlError", (error) => Effect.fail(uniqueOr(failed)(error)))
          )
      }
    }

    const unchecked: EventStore.Service = {
      append: (streamId, expected, proposed, appendOptions) => {
        const appendRegistry = appendOptions?.registry ?? registry
        const full = Effect.suspend(() =>
          lockedTransaction(streamId, (current) =>
            StoreBackend.append(backend(streamId, current), appendRegistry, streamId, expected, proposed))
        )
        // The fast path needs a version to guard on and something to write (an empty batch's result is the current
        // version, which it does not read). Inside a caller's transaction, a failed statement would abort it, and
        // SET LOCAL lock_timeout needs a transaction of its own: the full path then. A batch that would pass the
        // columns' range is for the full path to refuse (WrongExpectedVersion), not for the database to fail on.
        const first = expected._tag === "Exact" && proposed.length > 0 &&
            expected.version + proposed.length <= StreamVersion.max &&
            (dialect === "sqlite" || lockTimeout === undefined)
          ? Effect.serviceOption(SqlClient.TransactionConnection).pipe(
            Effect.flatMap((transaction) =>
              Option.isSome(transaction)
                ? full
                : StoreBackend.append(
                  optimistic(streamId, expected.version),
                  appendRegistry,
                  streamId,
                  expected,
                  proposed
                ).pipe(
                  // The stream is not at the expected version and nothing was written: the full path decides, as for
                  // any append that is not the common case.
                  Effect.catchTag("Missed", () =>
                    full)
                )
            )
          )
          : full
        // The unique constraints are the last line of defence: a violation means another writer won a race (on
        // PostgreSQL, a batch of another stream taking one of the same event ids) or, on the fast path, that the
        // batch was stored before. The whole check runs again the full way rather than failing blindly; it then sees
        // the winner's events or the stored batch. Three checks again after the first attempt, whichever path.
        const warned = <A, E extends { readonly _tag: string }, R>(attempt: Effect.Effect<A, E, R>) =>
          Effect.tapError(attempt, (error) =>
            error._tag === "UniqueViolation"
              ? Effect.logWarning("another writer won a race for a unique key; checking the append again").pipe(
                Effect.annotateLogs({ stream: streamId })
              )
              : Effect.void)
        const appended = warned(first).pipe(
          Effect.catchTag("UniqueViolation", () =>
            warned(full).pipe(Effect.retry({
              while: (error) => error._tag === "UniqueViolation",
              times: 2
            })))
        )
        return appended.pipe(
          Effect.mapError((error) =>
            error._tag === "SqlError" || error._tag === "UniqueViolation"
              ? storeError(`append to stream ${streamId}`)(error)
              : error
          ),
          // No captured stack trace: it cost a few percent of every append, and the span names the stream.
          Effect.withSpan("EventStore.append", { attributes: { streamId }, captureStackTrace: false })
        )
      },
      read: (streamId, readOptions) => {
        // The bounds every store reads by; they never pass StreamVersion.max, so the parameters stay 32-bit integers,
        // which PostgreSQL would otherwise refuse.
        const { from, limit } = EventStore.readBounds(readOptions)
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

    // The arguments are checked before anything else, whatever the caller's types said: the full path's lock reads
    // (and on PostgreSQL creates the stream's row) before the shared flow runs its own check, the choice of path reads
    // the expected version, and a NUL in an id would fail a statement. The batch is the shared flow's to check, once.
    const service: EventStore.Service = {
      append: (streamId, expected, proposed, appendOptions) =>
        Effect.flatMap(
          StoreBackend.validate(streamId, expected, []),
          () => unchecked.append(streamId, expected, proposed, appendOptions)
        ),
      read: (streamId, readOptions) =>
        Stream.unwrap(
          Effect.map(StoreBackend.validateStreamId("read", streamId), () => unchecked.read(streamId, readOptions))
        ),
      version: (streamId) =>
        Effect.flatMap(StoreBackend.validateStreamId("version", streamId), () => unchecked.version(streamId))
    }
    return service
  })
