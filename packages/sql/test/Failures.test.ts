import { Event, EventStore, ExpectedVersion, StreamId } from "@concord/core"
import { PgEventStore } from "@concord/sql/pg"
import { SqliteEventStore } from "@concord/sql/sqlite"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import * as SqlClient from "@effect/sql/SqlClient"
import { describe, expect, inject, it } from "@effect/vitest"
import {
  Cause,
  Chunk,
  Deferred,
  Effect,
  Exit,
  Fiber,
  Layer,
  Logger,
  Redacted,
  Schedule,
  type Scope,
  Stream
} from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { postgresSuites } from "./support/suites.js"

const directory = fs.mkdtempSync(path.join(os.tmpdir(), "concord-failures-"))
const pgUrl = inject("pgUrl")
const note = [{ type: "MeetingNoteAdded", data: { text: "x" } }]

/**
 * Takes a lock from another connection and keeps it until the returned effect releases it. `take` signals `held`
 * once the lock is taken, then keeps its transaction open by waiting on `release`.
 */
const holdLock = (
  take: (held: Effect.Effect<void>) => Effect.Effect<void, unknown, SqlClient.SqlClient | Scope.Scope>,
  sqlLayer: Layer.Layer<SqlClient.SqlClient, unknown>
) =>
  Effect.gen(function*() {
    const taken = yield* Deferred.make<void>()
    const release = yield* Deferred.make<void>()
    const holder = yield* Effect.fork(
      Effect.scoped(take(Effect.zipRight(Deferred.succeed(taken, undefined), Deferred.await(release)))).pipe(
        Effect.provide(sqlLayer)
      )
    )
    yield* Deferred.await(taken)
    return Effect.zipRight(Deferred.succeed(release, undefined), Fiber.join(holder))
  })

/** Runs `effect`, keeping the messages it logs as warnings. */
const withWarnings = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const warnings: Array<unknown> = []
    const logger = Logger.make(({ logLevel, message }) => {
      if (logLevel._tag === "Warning") warnings.push(message)
    })
    const exit = yield* Effect.exit(effect.pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger))))
    return { exit, warnings }
  })

/** Every event of a stream, straight from the events table. */
const storedRows = (table: string, streamId: string) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) => sql<{ version: number }>`SELECT version FROM ${sql(table)} WHERE stream_id = ${streamId} ORDER BY version`
  ).pipe(Effect.map((rows) => rows.map((row) => Number(row.version))))

/** An events-table row written behind the store's back (no stream row, no lock). */
const rogueRow = (streamId: string, version: number, eventId: string) => ({
  stream_id: streamId,
  version,
  event_id: eventId,
  type: "MeetingNoteAdded",
  data: "{}",
  metadata: "{}",
  recorded_at: new Date(0).toISOString(),
  batch_first: version,
  batch_last: version,
  rebased_over: 0
})

/**
 * Appends twice, corrupts the second event (`corruption`, an SQL assignment of the test's own) through `sqlLayer`,
 * then appends with expected version 1, which must read that row to check for conflicts: a StoreError naming the
 * append, and nothing written.
 */
const staleAppendOverCorruptRow = (
  streamId: string,
  table: string,
  corruption: string,
  sqlLayer: Layer.Layer<SqlClient.SqlClient, unknown>
) =>
  Effect.gen(function*() {
    const events = yield* EventStore.EventStore
    const id = StreamId.make(streamId)
    yield* events.append(id, ExpectedVersion.noStream, note)
    yield* events.append(id, ExpectedVersion.exact(1), note)
    yield* Effect.flatMap(
      SqlClient.SqlClient,
      (sql) => sql`UPDATE ${sql(table)} SET ${sql.unsafe(corruption)} WHERE stream_id = ${id} AND version = 2`
    ).pipe(Effect.provide(sqlLayer))
    const error = yield* typedFailure(events.append(id, ExpectedVersion.exact(1), note))
    expect(error).toMatchObject({ _tag: "StoreError", operation: `append to stream ${id}` })
    expect(yield* events.version(id)).toBe(2)
    expect(yield* storedRows(table, id).pipe(Effect.provide(sqlLayer))).toEqual([1, 2])
  })

/** Fails with a typed error, never a defect. */
const typedFailure = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.map(Effect.exit(effect), (exit) => {
    expect(Exit.isFailure(exit) && Cause.isFailType(exit.cause)).toBe(true)
    return Exit.isFailure(exit) && Cause.isFailType(exit.cause) ? exit.cause.error : undefined
  })

describe("SQLite failures", () => {
  const filename = path.join(directory, "failures.db")
  const store = SqliteEventStore.layer({ filename, busyTimeoutMillis: 200 })
  const other = SqliteClient.layer({ filename })

  it.effect("a write lock held by another connection past the busy timeout is a StoreError, then appends go on", () =>
    Effect.gen(function*() {
      const events = yield* EventStore.EventStore
      const id = StreamId.make("locked-1")
      yield* events.append(id, ExpectedVersion.noStream, note)
      const release = yield* holdLock(
        (held) =>
          Effect.gen(function*() {
            const connection = yield* Effect.flatMap(SqlClient.SqlClient, (sql) => sql.reserve)
            yield* connection.executeUnprepared("BEGIN IMMEDIATE", [], undefined)
            yield* held
            yield* connection.executeUnprepared("ROLLBACK", [], undefined)
          }),
        other
      )
      const error = yield* typedFailure(events.append(id, ExpectedVersion.exact(1), note))
      yield* release
      expect(error).toMatchObject({ _tag: "StoreError", operation: "append to stream locked-1" })
      expect(yield* events.version(id)).toBe(1)
      expect(yield* events.append(id, ExpectedVersion.exact(1), note)).toMatchObject({ firstVersion: 2 })
    }).pipe(Effect.provide(store)))

  it.effect("a corrupt row is a StoreError naming the read, never a defect", () =>
    Effect.gen(function*() {
      const events = yield* EventStore.EventStore
      const id = StreamId.make("corrupt-1")
      yield* events.append(id, ExpectedVersion.noStream, note)
      yield* Effect.flatMap(SqlClient.SqlClient, (sql) =>
        sql`UPDATE concord_events SET data = '{not json' WHERE stream_id = ${id}`)
        .pipe(Effect.provide(other))
      const error = yield* typedFailure(Stream.runCollect(events.read(id)))
      expect(error).toMatchObject({ _tag: "StoreError", operation: "read stream corrupt-1" })
      // The store keeps serving other streams.
      expect(yield* events.append(StreamId.make("corrupt-2"), ExpectedVersion.noStream, note)).toMatchObject({
        firstVersion: 1
      })
    }).pipe(Effect.provide(store)))

  it.effect(
    "a corrupt row read by a stale append is a StoreError naming the append, and nothing is written",
    () =>
      staleAppendOverCorruptRow("corrupt-append-1", "concord_events", "data = '{not json'", other).pipe(
        Effect.provide(store)
      )
  )

  it.effect("a corrupt stream version is a StoreError for appends and version reads, never a defect", () =>
    Effect.gen(function*() {
      const events = yield* EventStore.EventStore
      const id = StreamId.make("corrupt-version-1")
      yield* events.append(id, ExpectedVersion.noStream, note)
      // SQLite keeps text in an INTEGER column, and the CHECK (version >= 0) holds for any text.
      yield* Effect.flatMap(
        SqlClient.SqlClient,
        (sql) => sql`UPDATE concord_streams SET version = 'not a count' WHERE stream_id = ${id}`
      )
        .pipe(Effect.provide(other))
      expect(yield* typedFailure(events.version(id))).toMatchObject({
        _tag: "StoreError",
        operation: "read the version of stream corrupt-version-1"
      })
      expect(yield* typedFailure(events.append(id, ExpectedVersion.any, note))).toMatchObject({
        _tag: "StoreError",
        operation: "append to stream corrupt-version-1"
      })
      expect(yield* storedRows("concord_events", id).pipe(Effect.provide(other))).toEqual([1])
    }).pipe(Effect.provide(store)))

  it.effect("a unique violation is checked again a bounded number of times, then is a StoreError; nothing written", () =>
    Effect.gen(function*() {
      const events = yield* EventStore.EventStore
      const id = StreamId.make("rogue-1")
      // An event at version 1 that the streams table does not know: every write of version 1 violates the unique key.
      yield* Effect.flatMap(
        SqlClient.SqlClient,
        (sql) => sql`INSERT INTO concord_events ${sql.insert(rogueRow(id, 1, "rogue-event"))}`
      )
        .pipe(Effect.provide(other))
      const { exit, warnings } = yield* withWarnings(events.append(id, ExpectedVersion.noStream, note))
      expect(Exit.isFailure(exit) && Cause.isFailType(exit.cause) ? exit.cause.error : exit).toMatchObject({
        _tag: "StoreError",
        operation: "append to stream rogue-1",
        cause: { _tag: "UniqueViolation" }
      })
      // The first attempt and three checks again.
      expect(warnings).toHaveLength(4)
      expect(yield* storedRows("concord_events", id).pipe(Effect.provide(other))).toEqual([1])
      expect(yield* events.version(id)).toBe(0)
    }).pipe(Effect.provide(store)))

  it.effect("reading from a version past any stream's end (beyond 32 bits) is empty, not a failure", () =>
    Effect.gen(function*() {
      const events = yield* EventStore.EventStore
      const id = StreamId.make("far-1")
      yield* events.append(id, ExpectedVersion.noStream, note)
      for (const from of [2 ** 31, 2 ** 53, Number.MAX_VALUE]) {
        expect(Chunk.toArray(yield* Stream.runCollect(events.read(id, { from })))).toEqual([])
      }
      expect(Chunk.size(yield* Stream.runCollect(events.read(id, { from: 1, limit: 2 ** 40 })))).toBe(1)
    }).pipe(Effect.provide(store)))
})

describe("SQLite options and opening", () => {
  const pragmas = Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.all({
      journal: sql<{ journal_mode: string }>`PRAGMA journal_mode`,
      synchronous: sql<{ synchronous: number }>`PRAGMA synchronous`,
      busy: sql<{ timeout: number }>`PRAGMA busy_timeout`,
      foreignKeys: sql<{ foreign_keys: number }>`PRAGMA foreign_keys`
    }))

  it.effect("layerSqliteClient, the client of layerSqlite, opens the file with WAL, FULL sync, the busy timeout and foreign keys", () =>
    Effect.gen(function*() {
      const found = yield* pragmas
      expect(found.journal[0]?.journal_mode).toBe("wal")
      expect(found.synchronous[0]?.synchronous).toBe(2)
      expect(found.busy[0]?.timeout).toBe(1234)
      expect(found.foreignKeys[0]?.foreign_keys).toBe(1)
    }).pipe(
      Effect.provide(
        SqliteEventStore.layerClient({ filename: path.join(directory, "pragmas.db"), busyTimeoutMillis: 1234 })
      )
    ))

  it.effect("the default busy timeout is 10 s", () =>
    Effect.gen(function*() {
      expect((yield* pragmas).busy[0]?.timeout).toBe(10_000)
    }).pipe(Effect.provide(SqliteEventStore.layerClient({ filename: path.join(directory, "pragmas-2.db") }))))

  it.effect("a file that cannot be opened is a StoreError naming it, never a defect", () =>
    Effect.gen(function*() {
      const missing = path.join(directory, "no-such-directory", "x.db")
      expect(
        yield* typedFailure(Effect.provide(EventStore.EventStore, SqliteEventStore.layer({ filename: missing })))
      )
        .toMatchObject({ _tag: "StoreError", operation: `open the SQLite file ${missing}` })
      const notADatabase = path.join(directory, "not-a-database.db")
      fs.writeFileSync(notADatabase, "x".repeat(4096))
      expect(
        yield* typedFailure(
          Effect.provide(EventStore.EventStore, SqliteEventStore.layer({ filename: notADatabase }))
        )
      ).toMatchObject({ _tag: "StoreError", operation: `open the SQLite file ${notADatabase}` })
    }))

  it.effect("an option out of range is a StoreError naming it, before the file is even created", () =>
    Effect.gen(function*() {
      const cases = [
        { busyTimeoutMillis: Number.NaN, name: "busyTimeoutMillis" },
        { busyTimeoutMillis: -1, name: "busyTimeoutMillis" },
        { lockTimeoutMillis: 1.5, name: "lockTimeoutMillis" },
        { lockTimeoutMillis: Infinity, name: "lockTimeoutMillis" },
        { pollIntervalMillis: 0, name: "pollIntervalMillis" },
        { pollIntervalMillis: 2.5, name: "pollIntervalMillis" }
      ]
      for (const [i, { name, ...options }] of cases.entries()) {
        const filename = path.join(directory, `options-${i}.db`)
        const error = yield* typedFailure(
          Effect.provide(EventStore.EventStore, SqliteEventStore.layer({ filename, ...options }))
        )
        expect(error).toMatchObject({ _tag: "StoreError" })
        expect((error as EventStore.StoreError).operation).toContain(`the option ${name}`)
        if (name === "busyTimeoutMillis") expect(fs.existsSync(filename)).toBe(false)
      }
      expect(
        yield* typedFailure(
          Effect.provide(EventStore.EventStore, PgEventStore.layer({ url: "postgres://x/y", maxConnections: 0 }))
        )
      ).toMatchObject({ _tag: "StoreError", operation: expect.stringContaining("the option maxConnections") })
    }))
})

describe.skipIf(pgUrl === undefined)(postgresSuites.failures, () => {
  const url = pgUrl ?? ""
  const admin = PgClient.layer({ url: Redacted.make(url) })

  it.effect("a writer holding the stream's lock past lockTimeoutMillis makes an append a StoreError, then appends go on", () =>
    Effect.gen(function*() {
      const events = yield* EventStore.EventStore
      const id = StreamId.make("locked-pg-1")
      yield* events.append(id, ExpectedVersion.noStream, note)
      const release = yield* holdLock(
        (held) =>
          Effect.flatMap(SqlClient.SqlClient, (sql) =>
            sql.withTransaction(Effect.zipRight(
              sql`SELECT version FROM failures_streams WHERE stream_id = ${id} FOR UPDATE`,
              held
            ))),
        admin
      )
      const error = yield* typedFailure(events.append(id, ExpectedVersion.exact(1), note))
      // While the lock is held, appends to other streams go through: a whole-table lock would time them out too.
      const other = StreamId.make(`locked-pg-other-${Date.now().toString(36)}`)
      expect(yield* events.append(other, ExpectedVersion.noStream, note)).toMatchObject({ firstVersion: 1 })
      expect(yield* events.append(other, ExpectedVersion.exact(1), note)).toMatchObject({ firstVersion: 2 })
      yield* release
      expect(error).toMatchObject({ _tag: "StoreError", operation: "append to stream locked-pg-1" })
      // The stream itself takes appends again.
      expect(yield* events.version(id)).toBe(1)
      expect(yield* events.append(id, ExpectedVersion.exact(1), note)).toMatchObject({ firstVersion: 2 })
    }).pipe(Effect.provide(PgEventStore.layer({ url, tablePrefix: "failures_", lockTimeoutMillis: 300 }))))

  it.effect(
    "a corrupt row read by a stale append is a StoreError naming the append, and nothing is written",
    () =>
      // JSONB holds only JSON: an empty event id is what the store cannot take back.
      staleAppendOverCorruptRow(`corrupt-pg-${Date.now().toString(36)}`, "failures_events", "event_id = ''", admin)
        .pipe(Effect.provide(PgEventStore.layer({ url, tablePrefix: "failures_" })))
  )

  it.live(
    "a batch of another stream taking one of the same event ids first: the unique violation is checked again, and the append is a DuplicateEventId",
    () =>
      Effect.gen(function*() {
        const events = yield* EventStore.EventStore
        const suffix = Date.now().toString(36)
        const [mine, theirs, shared] = [`race-a-${suffix}`, `race-b-${suffix}`, `race-event-${suffix}`]
        // Another writer inserts the id and keeps its transaction open: the append's lookup of its ids cannot see it,
        // and its insert waits on the unique index until that transaction ends.
        const release = yield* holdLock(
          (held) =>
            Effect.flatMap(SqlClient.SqlClient, (sql) =>
              sql.withTransaction(Effect.zipRight(
                sql`INSERT INTO race_events ${
                  sql.insert({ ...rogueRow(theirs, 1, shared), recorded_at: new Date(0) })
                }`,
                held
              ))),
          admin
        )
        const appending = yield* Effect.fork(withWarnings(
          events.append(StreamId.make(mine), ExpectedVersion.noStream, [{
            ...note[0]!,
            id: Event.EventId.make(shared)
          }])
        ))
        yield* Effect.flatMap(
          SqlClient.SqlClient,
          (sql) =>
            sql<{ waiting: number }>`SELECT count(*)::int AS waiting FROM pg_stat_activity
            WHERE wait_event_type = 'Lock' AND query LIKE '%race_events%'`
        ).pipe(
          Effect.provide(admin),
          Effect.repeat({ schedule: Schedule.spaced("10 millis"), until: (rows) => rows[0]!.waiting > 0 })
        )
        yield* release
        const { exit, warnings } = yield* Fiber.join(appending)
        expect(Exit.isFailure(exit) && Cause.isFailType(exit.cause) ? exit.cause.error : exit).toMatchObject({
          _tag: "DuplicateEventId",
          eventIds: [shared]
        })
        expect(warnings).toHaveLength(1)
        expect(yield* events.version(StreamId.make(mine))).toBe(0)
      }).pipe(Effect.provide(PgEventStore.layer({ url, tablePrefix: "race_" }))),
    { timeout: 60_000 }
  )

  it.effect("reading from a version beyond 32 bits is empty, not a failure", () =>
    Effect.gen(function*() {
      const events = yield* EventStore.EventStore
      const id = StreamId.make("far-pg-1")
      yield* events.append(id, ExpectedVersion.any, note)
      for (const from of [2 ** 31 - 1, 2 ** 31, 2 ** 53]) {
        expect(Chunk.toArray(yield* Stream.runCollect(events.read(id, { from })))).toEqual([])
      }
    }).pipe(Effect.provide(PgEventStore.layer({ url, tablePrefix: "failures_" }))))

  it.effect(
    "a database that goes away makes every operation a StoreError, and the process keeps serving others",
    () =>
      Effect.gen(function*() {
        const database = `concord_dead_${Date.now().toString(36)}`
        const sql = (statement: string) =>
          Effect.flatMap(SqlClient.SqlClient, (client) => client.unsafe(statement)).pipe(
            Effect.provide(admin),
            Effect.orDie
          )
        yield* sql(`CREATE DATABASE ${database}`)
        const deadUrl = url.replace(/\/[^/]+$/, `/${database}`)
        yield* Effect.gen(function*() {
          const doomed = yield* EventStore.EventStore
          const id = StreamId.make("doomed-1")
          yield* doomed.append(id, ExpectedVersion.noStream, note)
          yield* sql(`DROP DATABASE ${database} WITH (FORCE)`)
          const failures = [
            yield* typedFailure(doomed.append(id, ExpectedVersion.exact(1), note)),
            yield* typedFailure(doomed.version(id)),
            yield* typedFailure(Stream.runCollect(doomed.read(id)))
          ]
          expect(failures.map((e) => (e as { _tag: string })._tag)).toEqual(["StoreError", "StoreError", "StoreError"])
          expect(failures.map((e) => (e as EventStore.StoreError).operation)).toEqual([
            "append to stream doomed-1",
            "read the version of stream doomed-1",
            "read stream doomed-1"
          ])
        }).pipe(Effect.provide(PgEventStore.layer({ url: deadUrl, maxConnections: 1 })))
        const alive = yield* Effect.provide(
          Effect.flatMap(EventStore.EventStore, (s) => s.append(StreamId.make("alive-1"), ExpectedVersion.any, note)),
          PgEventStore.layer({ url, tablePrefix: "failures_" })
        )
        expect(alive.lastVersion).toBeGreaterThan(0)
      }),
    { timeout: 60_000 }
  )

  it.live("stores starting at the same moment on an empty schema all come up", () =>
    Effect.gen(function*() {
      for (let round = 0; round < 3; round++) {
        const prefix = `simultaneous_${round}_${Date.now().toString(36)}_`
        yield* Effect.all(
          [0, 1, 2].map(() => Effect.scoped(Layer.build(PgEventStore.layer({ url, tablePrefix: prefix })))),
          { concurrency: "unbounded" }
        )
      }
    }), { timeout: 60_000 })

  it.effect("an unreachable server fails building the store with a StoreError", () =>
    Effect.gen(function*() {
      const error = yield* typedFailure(
        Effect.provide(EventStore.EventStore, PgEventStore.layer({ url: "postgres://postgres@127.0.0.1:1/none" }))
      )
      expect(error).toMatchObject({ _tag: "StoreError" })
    }), { timeout: 60_000 })
})
