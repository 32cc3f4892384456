import { EventStore, ExpectedVersion, StreamId } from "@concord/core"
import { SqlEventStore } from "@concord/sql"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import * as SqlClient from "@effect/sql/SqlClient"
import { describe, expect, inject, it } from "@effect/vitest"
import { Cause, Deferred, Effect, Exit, Fiber, Layer, Redacted, type Scope, Stream } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

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

/** Fails with a typed error, never a defect. */
const typedFailure = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.map(Effect.exit(effect), (exit) => {
    expect(Exit.isFailure(exit) && Cause.isFailType(exit.cause)).toBe(true)
    return Exit.isFailure(exit) && Cause.isFailType(exit.cause) ? exit.cause.error : undefined
  })

describe("SQLite failures", () => {
  const filename = path.join(directory, "failures.db")
  const store = SqlEventStore.layerSqlite({ filename, busyTimeoutMillis: 200 })
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
})

describe.runIf(pgUrl !== undefined)("PostgreSQL failures", () => {
  const url = pgUrl!
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
      yield* release
      expect(error).toMatchObject({ _tag: "StoreError", operation: "append to stream locked-pg-1" })
      // Other streams were never blocked, and the stream itself takes appends again.
      expect(yield* events.version(id)).toBe(1)
      expect(yield* events.append(id, ExpectedVersion.exact(1), note)).toMatchObject({ firstVersion: 2 })
    }).pipe(Effect.provide(SqlEventStore.layerPg({ url, tablePrefix: "failures_", lockTimeoutMillis: 300 }))))

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
        }).pipe(Effect.provide(SqlEventStore.layerPg({ url: deadUrl, maxConnections: 1 })))
        const alive = yield* Effect.provide(
          Effect.flatMap(EventStore.EventStore, (s) => s.append(StreamId.make("alive-1"), ExpectedVersion.any, note)),
          SqlEventStore.layerPg({ url, tablePrefix: "failures_" })
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
          [0, 1, 2].map(() => Effect.scoped(Layer.build(SqlEventStore.layerPg({ url, tablePrefix: prefix })))),
          { concurrency: "unbounded" }
        )
      }
    }), { timeout: 60_000 })

  it.effect("an unreachable server fails building the store with a StoreError", () =>
    Effect.gen(function*() {
      const error = yield* typedFailure(
        Effect.provide(EventStore.EventStore, SqlEventStore.layerPg({ url: "postgres://postgres@127.0.0.1:1/none" }))
      )
      expect(error).toMatchObject({ _tag: "StoreError" })
    }), { timeout: 60_000 })
})
