// Deadlines: a server that hangs (every process of its cluster stopped with SIGSTOP), a partition, a lock held too
// long, a server that stops and starts again. What is asserted about time is a deadline (an answer no later than the
// bound plus a generous margin), never a speed. The PostgreSQL suite freezes and stops a cluster of its own, which
// the other files do not share.
import { Checkpoints, Event, EventStore, EventStoreError, ExpectedVersion, Position, StreamId } from "@concord/core"
import { SqlCheckpoints, SqlEventStore } from "@concord/sql"
import { PgEventStore } from "@concord/sql/pg"
import { SqliteEventStore } from "@concord/sql/sqlite"
import { Postgres } from "@concord/test-postgres"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import * as SqlClient from "@effect/sql/SqlClient"
import { afterAll, beforeAll, describe, expect, inject, it } from "@effect/vitest"
import { Cause, Chunk, Context, Deferred, Effect, Exit, Fiber, Layer, Redacted, Schedule, Stream } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Proxy from "./support/proxy.js"
import { postgresSuites } from "./support/suites.js"

/** The margin allowed past a deadline: generous, as a loaded machine is slow; a store that waits misses it by far. */
const margin = 1_500

let sequence = 0
const newId = (name: string) => Event.EventId.make(`${name}-${Date.now().toString(36)}-${sequence++}`)
const noted = (ids: ReadonlyArray<Event.EventId>) => ids.map((id) => ({ id, type: "Noted", data: { id } }))

/** Runs `effect`, keeping its exit and how long it took. */
const timed = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const start = performance.now()
    const exit = yield* Effect.exit(effect)
    return { exit, millis: performance.now() - start }
  })

/** The typed error an effect failed with, or the exit itself (which then fails the test's match). */
const failure = (exit: Exit.Exit<unknown, unknown>): unknown =>
  Exit.isFailure(exit) && Cause.isFailType(exit.cause) ? exit.cause.error : exit

/**
 * An exit's AppendTimeout as a plain object, or a description of what the exit was instead: a failed match then
 * prints a readable difference (printing an Effect error can overflow the stack).
 */
const timedOut = (exit: Exit.Exit<unknown, unknown>) => {
  const error = failure(exit)
  return EventStoreError.isAppendTimeout(error)
    ? { streamId: error.streamId, timeoutMillis: error.timeoutMillis, mayHaveCommitted: error.mayHaveCommitted }
    : Exit.isFailure(exit)
    ? Cause.pretty(exit.cause)
    : "it succeeded"
}

/** An answer at the deadline: not before it (less a timer's rounding), and not much after. */
const expectAtDeadline = (millis: number, deadline: number) => {
  expect(millis).toBeGreaterThanOrEqual(deadline - 5)
  expect(millis).toBeLessThan(deadline + margin)
}

/** The event store of `layer`, for the enclosing scope. */
const storeOf = <E>(layer: Layer.Layer<EventStore.EventStore | Checkpoints.Checkpoints, E>) =>
  Effect.map(Layer.build(layer), (context) => Context.get(context, EventStore.EventStore))

/**
 * Takes a lock in a transaction of another connection and keeps it until the returned effect ends the transaction
 * (committing it). `take` runs inside the transaction.
 */
const holdLock = <R>(
  take: (sql: SqlClient.SqlClient) => Effect.Effect<unknown, unknown, R>,
  sqlLayer: Layer.Layer<SqlClient.SqlClient, unknown>
): Effect.Effect<Effect.Effect<void>, never, Exclude<R, SqlClient.SqlClient>> =>
  Effect.gen(function*() {
    const taken = yield* Deferred.make<void>()
    const release = yield* Deferred.make<void>()
    const holder = yield* Effect.fork(
      Effect.flatMap(SqlClient.SqlClient, (sql) =>
        sql.withTransaction(
          take(sql).pipe(
            Effect.zipRight(Deferred.succeed(taken, undefined)),
            Effect.zipRight(Deferred.await(release))
          )
        )).pipe(Effect.provide(sqlLayer), Effect.orDie)
    )
    yield* Deferred.await(taken)
    return Effect.zipRight(Deferred.succeed(release, undefined), Fiber.join(holder))
  }) as never

describe.skipIf(inject("pgUrl") === undefined)(postgresSuites.deadlines, () => {
  let cluster: Postgres.Cluster
  beforeAll(async () => {
    cluster = (await Postgres.start({ settings: ["-c fsync=off"] }))!
  }, 60_000)
  afterAll(() => cluster?.stop())

  const admin = () => PgClient.layer({ url: Redacted.make(cluster.url) })
  /** A statement of the test's own, on a connection of its own. */
  const query = <A extends object>(statement: (sql: SqlClient.SqlClient) => Effect.Effect<ReadonlyArray<A>, unknown>) =>
    Effect.flatMap(SqlClient.SqlClient, statement).pipe(Effect.provide(admin()), Effect.orDie)
  /** Every stored event of a table prefix: event id -> [stream, version]. */
  const storedEvents = (prefix: string) =>
    Effect.map(
      query((sql) =>
        sql<{ event_id: string; stream_id: string; version: number }>`SELECT event_id, stream_id, version
          FROM ${sql(`${prefix}events`)} ORDER BY stream_id, version`
      ),
      (rows) => rows.map((row) => ({ id: row.event_id, stream: row.stream_id, version: Number(row.version) }))
    )
  /** Waits until no backend of the cluster waits for a lock, failing the test after `within`. */
  const noLockWaits = (within: number) =>
    query((sql) =>
      sql<{ waiting: number }>`SELECT count(*)::int AS waiting FROM pg_stat_activity WHERE wait_event_type = 'Lock'`
    )
      .pipe(
        Effect.repeat({ schedule: Schedule.spaced("50 millis"), until: (rows) => rows[0]!.waiting === 0 }),
        Effect.timeoutFail({
          duration: within,
          onTimeout: () => new Error(`a backend still waits for a lock after ${within} ms`)
        })
      )

  it.live(
    "a frozen server: appends fail with AppendTimeout at their deadline, reads with a StoreError at theirs, a new connection at the connect timeout; after the thaw nothing acknowledged is lost, each timed-out batch is whole or absent, and sent again it is stored once",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const prefix = "frozen_"
        const store = yield* storeOf(PgEventStore.layer({
          url: cluster.url,
          tablePrefix: prefix,
          appendTimeoutMillis: 1_000,
          statementTimeoutMillis: 1_500,
          // Longer than the deadlines, so that a wait for a connection ends at them.
          connectTimeoutMillis: 4_000
        }))
        // The default deadline: a second past the lock timeout.
        const byDefault = yield* storeOf(
          PgEventStore.layer({
            url: cluster.url,
            tablePrefix: prefix,
            lockTimeoutMillis: 300,
            connectTimeoutMillis: 4_000
          })
        )
        const [fast, full, fresh, other] = ["frozen-fast", "frozen-full", "frozen-fresh", "frozen-other"].map((name) =>
          StreamId.make(name)
        ) as [StreamId.StreamId, StreamId.StreamId, StreamId.StreamId, StreamId.StreamId]
        const acknowledged: Array<string> = []
        // `other` is written through `byDefault`, so that its commit group's connection is open too: a group that must
        // open one on a frozen server is never sent, and its append would rightly answer mayHaveCommitted: false.
        for (const [stream, through] of [[fast, store], [full, store], [other, byDefault]] as const) {
          const ids = [newId("acknowledged")]
          yield* through.append(stream, ExpectedVersion.noStream, noted(ids))
          acknowledged.push(...ids)
        }
        // Connections open in both pools, so that the statements below are sent before the server hangs.
        yield* Effect.all([store, byDefault].flatMap((s) => [fast, full, other].map((id) => s.version(id))), {
          concurrency: "unbounded"
        })
        const subscriber = yield* Effect.fork(Stream.runDrain(store.subscribe()))
        // A subscriber waiting at the end of the log: its store checks the end every second (the default).
        const waiting = yield* Effect.fork(
          Stream.runDrain(store.subscribe()).pipe(Effect.exit, Effect.map((exit) => ({ exit, at: performance.now() })))
        )
        yield* Effect.sleep("300 millis")

        const batches = {
          fast: [newId("fast"), newId("fast")],
          full: [newId("full")],
          uninterruptible: [newId("uninterruptible")],
          fresh: [newId("fresh")],
          byDefault: [newId("default")]
        }
        yield* Effect.sync(() => cluster.freeze())
        const frozenAt = performance.now()
        // The freeze lasts 8 s at most: a store that waits for the server answers then, and fails its deadline.
        yield* Effect.forkScoped(Effect.zipRight(Effect.sleep("8 seconds"), Effect.sync(() => cluster.thaw())))
        const results = yield* Effect.all({
          // The one-statement fast path: its statement is sent, and commits as it ends.
          fast: timed(store.append(fast, ExpectedVersion.exact(1), noted(batches.fast))),
          // The full path: its transaction cannot reach COMMIT.
          full: timed(store.append(full, ExpectedVersion.any, noted(batches.full))),
          // The same from a caller that runs the append uninterruptibly (as the service does): the abandoned work must
          // still stop, not commit once the server thaws after its answer said nothing was written.
          uninterruptible: timed(
            Effect.uninterruptible(store.append(full, ExpectedVersion.any, noted(batches.uninterruptible)))
          ),
          fresh: timed(store.append(fresh, ExpectedVersion.noStream, noted(batches.fresh))),
          byDefault: timed(byDefault.append(other, ExpectedVersion.exact(1), noted(batches.byDefault))),
          read: timed(Stream.runCollect(store.read(fast))),
          version: timed(store.version(fast)),
          readAll: timed(Stream.runCollect(store.readAll())),
          connect: timed(
            Effect.scoped(
              storeOf(PgEventStore.layer({ url: cluster.url, tablePrefix: prefix, connectTimeoutMillis: 1_000 }))
            )
          ),
          // A subscriber ends without waiting for its listening connection to stop listening.
          unsubscribe: Effect.zipRight(Effect.sleep("100 millis"), timed(Fiber.interrupt(subscriber))),
          waiting: Fiber.join(waiting)
        }, { concurrency: "unbounded" }).pipe(Effect.ensuring(Effect.sync(() => cluster.thaw())))

        const timeouts = {
          fast: { streamId: fast, timeoutMillis: 1_000, mayHaveCommitted: true },
          full: { streamId: full, timeoutMillis: 1_000, mayHaveCommitted: false },
          uninterruptible: { streamId: full, timeoutMillis: 1_000, mayHaveCommitted: false },
          fresh: { streamId: fresh, timeoutMillis: 1_000, mayHaveCommitted: true },
          byDefault: { streamId: other, timeoutMillis: 1_300, mayHaveCommitted: true }
        }
        for (const [name, expected] of Object.entries(timeouts)) {
          const { exit, millis } = results[name as keyof typeof timeouts]
          expect(timedOut(exit), name).toEqual(expected)
          expectAtDeadline(millis, expected.timeoutMillis)
        }
        for (
          const [name, operation] of [
            ["read", `read stream ${fast}`],
            ["version", `read the version of stream ${fast}`],
            ["readAll", "read the global log"]
          ] as const
        ) {
          const error = failure(results[name].exit)
          expect(error, name).toMatchObject({
            _tag: "StoreError",
            operation,
            cause: { _tag: "TimedOut", millis: 1_500 }
          })
          expect(((error as EventStore.StoreError).cause as Error).message).toBe("timed out after 1500 ms")
          expectAtDeadline(results[name].millis, 1_500)
        }
        expect(failure(results.connect.exit)).toMatchObject({ _tag: "StoreError", operation: "connect to PostgreSQL" })
        expectAtDeadline(results.connect.millis, 1_000)
        expect(Exit.isInterrupted(results.unsubscribe.exit) || Exit.isSuccess(results.unsubscribe.exit)).toBe(true)
        expect(results.unsubscribe.millis).toBeLessThan(margin)
        // The waiting subscriber's check of the end, then its read, fail at their deadlines: it ends, never hangs.
        expect(failure(results.waiting.exit)).toMatchObject({ _tag: "StoreError", cause: { _tag: "TimedOut" } })
        expect(results.waiting.at - frozenAt).toBeLessThan(1_000 + 2 * 1_500 + margin)

        // After the thaw: the store answers again, and the work it abandoned ends (committed or rolled back).
        yield* store.version(fast).pipe(Effect.retry({ schedule: Schedule.spaced("200 millis"), times: 25 }))
        yield* Effect.sleep("1 second")
        const stored = new Map((yield* storedEvents(prefix)).map((event) => [event.id, event]))
        for (const id of acknowledged) expect(stored.has(id), id).toBe(true)
        for (const [name, ids] of Object.entries(batches)) {
          const present = ids.filter((id) => stored.has(id))
          expect(present.length === 0 || present.length === ids.length, `${name}: whole or absent`).toBe(true)
          if (!timeouts[name as keyof typeof timeouts].mayHaveCommitted) expect(present, name).toEqual([])
        }
        expect(yield* store.version(full)).toBe(1)

        // Sent again with the same ids: the original result, or stored now; once either way.
        expect(yield* store.append(fast, ExpectedVersion.exact(1), noted(batches.fast))).toMatchObject({
          firstVersion: 2,
          lastVersion: 3
        })
        expect(yield* store.append(full, ExpectedVersion.any, noted(batches.full))).toMatchObject({ firstVersion: 2 })
        expect(yield* store.append(full, ExpectedVersion.any, noted(batches.uninterruptible))).toMatchObject({
          firstVersion: 3
        })
        expect(yield* store.append(fresh, ExpectedVersion.noStream, noted(batches.fresh))).toMatchObject({
          firstVersion: 1
        })
        expect(yield* byDefault.append(other, ExpectedVersion.exact(1), noted(batches.byDefault))).toMatchObject({
          firstVersion: 2
        })
        const after = yield* storedEvents(prefix)
        const all = [...acknowledged, ...Object.values(batches).flat()]
        expect(after.map((event) => event.id).sort()).toEqual([...all].sort())
        // Each stream's versions run from 1 without a gap.
        for (const stream of [fast, full, fresh, other]) {
          const versions = after.filter((event) => event.stream === stream).map((event) => event.version)
          expect(versions, stream).toEqual(versions.map((_, i) => i + 1))
        }
        expect(Chunk.size(yield* Stream.runCollect(store.readAll()))).toBe(all.length)
      })),
    { timeout: 60_000 }
  )

  it.live(
    "a stream lock held by another transaction: the append fails at its deadline with mayHaveCommitted false, though the lock timeout would allow several waits; the server stops its waits, nothing is written, and the stream takes appends once the lock is free",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const prefix = "locked_"
        const store = yield* storeOf(
          PgEventStore.layer({
            url: cluster.url,
            tablePrefix: prefix,
            lockTimeoutMillis: 5_000,
            appendTimeoutMillis: 1_000
          })
        )
        const [row, owned] = [StreamId.make("locked-row"), StreamId.make("locked-by-a-store")]
        yield* store.append(row, ExpectedVersion.noStream, noted([newId("first")]))
        yield* store.append(owned, ExpectedVersion.noStream, noted([newId("first")]))
        // A row lock taken by hand, and the store's own lock: an append inside a transaction left open.
        const releaseRow = yield* holdLock(
          (sql) => sql`SELECT version FROM ${sql(`${prefix}streams`)} WHERE stream_id = ${row} FOR UPDATE`,
          admin()
        )
        const other = yield* SqlEventStore.make({ tablePrefix: prefix }).pipe(Effect.provide(admin()))
        const holderBatch = [newId("holder")]
        const releaseOwned = yield* holdLock(
          () => other.append(owned, ExpectedVersion.exact(1), noted(holderBatch)),
          admin()
        )
        const batches = {
          exact: [newId("exact")],
          any: [newId("any")],
          owned: [newId("owned")],
          uninterruptible: [newId("uninterruptible")]
        }
        const results = yield* Effect.all([
          // The fast path skips the locked row; the full path then waits for it in a transaction, before writing.
          timed(store.append(row, ExpectedVersion.exact(1), noted(batches.exact))),
          timed(store.append(row, ExpectedVersion.any, noted(batches.any))),
          timed(store.append(owned, ExpectedVersion.exact(1), noted(batches.owned))),
          // A caller that runs the append uninterruptibly (as the service does) gets the same deadline, and the
          // abandoned work still stops: it must not commit after its answer said nothing was written.
          timed(Effect.uninterruptible(store.append(row, ExpectedVersion.exact(1), noted(batches.uninterruptible))))
        ], { concurrency: "unbounded" })
        for (const [i, stream] of [row, row, owned, row].entries()) {
          expect(timedOut(results[i]!.exit)).toEqual({
            streamId: stream,
            timeoutMillis: 1_000,
            mayHaveCommitted: false
          })
          expectAtDeadline(results[i]!.millis, 1_000)
        }
        // The abandoned waits end on the server while the locks are still held.
        yield* noLockWaits(margin)
        yield* releaseRow
        yield* releaseOwned
        const stored = (yield* storedEvents(prefix)).map((event) => event.id)
        for (const id of Object.values(batches).flat()) expect(stored).not.toContain(id)
        expect(stored).toContain(holderBatch[0])
        expect(yield* store.version(row)).toBe(1)
        expect(yield* store.version(owned)).toBe(2)
        expect(yield* store.append(row, ExpectedVersion.exact(1), noted(batches.exact))).toMatchObject({
          firstVersion: 2
        })
        expect(yield* store.append(owned, ExpectedVersion.any, noted(batches.owned))).toMatchObject({ firstVersion: 3 })
      })),
    { timeout: 60_000 }
  )

  it.live(
    "a partition after an append took its stream's lock: the client gives up at the deadline, and the server ends the transaction it abandoned, which holds the lock no longer",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const prefix = "partition_"
        const port = Number(new URL(cluster.url).port)
        const proxy = yield* Proxy.start(port)
        const proxied = new URL(cluster.url)
        proxied.port = String(proxy.port)
        const store = yield* storeOf(PgEventStore.layer({
          url: proxied.toString(),
          tablePrefix: prefix,
          appendTimeoutMillis: 2_000,
          connectTimeoutMillis: 1_000
        }))
        const stream = StreamId.make("partitioned-1")
        yield* store.append(stream, ExpectedVersion.noStream, noted([newId("first")]))
        const streams = `${prefix}streams`
        const releaseRow = yield* holdLock(
          (sql) => sql`SELECT version FROM ${sql(streams)} WHERE stream_id = ${stream} FOR UPDATE`,
          admin()
        )
        const appending = yield* Effect.fork(timed(store.append(stream, ExpectedVersion.any, noted([newId("cut")]))))
        // The append's transaction waits for the lock; then the network goes, and the lock passes to it.
        yield* query((sql) =>
          sql<{ waiting: number }>`SELECT count(*)::int AS waiting FROM pg_stat_activity WHERE wait_event_type = 'Lock'`
        ).pipe(Effect.repeat({ schedule: Schedule.spaced("20 millis"), until: (rows) => rows[0]!.waiting > 0 }))
        yield* Effect.sync(() => proxy.partition())
        yield* releaseRow
        const released = performance.now()
        const tryLock = query((sql) =>
          sql.withTransaction(sql`SELECT version FROM ${sql(streams)} WHERE stream_id = ${stream} FOR UPDATE NOWAIT`)
        )
        // The abandoned transaction holds the lock now...
        expect(Exit.isFailure(yield* Effect.exit(Effect.catchAllDefect(tryLock, Effect.fail)))).toBe(true)
        const { exit, millis } = yield* Fiber.join(appending)
        expect(timedOut(exit)).toEqual({ streamId: stream, mayHaveCommitted: false, timeoutMillis: 2_000 })
        expectAtDeadline(millis, 2_000)
        // ...until the server ends it, a deadline after its last statement.
        yield* Effect.catchAllDefect(tryLock, Effect.fail).pipe(
          Effect.retry({ schedule: Schedule.spaced("100 millis") }),
          Effect.timeoutFail({ duration: 2_000 + margin, onTimeout: () => new Error("the lock is still held") })
        )
        expect(performance.now() - released).toBeLessThan(2_000 + margin)
        expect((yield* storedEvents(prefix)).map((event) => event.stream)).toEqual([stream])
      })),
    { timeout: 60_000 }
  )

  it.live(
    "inside a caller's transaction no statement deadline applies: a read, a version, a page of the global log and a checkpoint wait out a table lock held past it, on the caller's connection, and succeed; outside, the same wait fails at the deadline",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const prefix = "caller_tx_"
        // A client without the server's statement timeout: only the store's own deadline could end a wait.
        const client = yield* Layer.build(admin())
        const [sql, store, checkpoints] = yield* Effect.all([
          SqlClient.SqlClient,
          SqlEventStore.make({ tablePrefix: prefix, statementTimeoutMillis: 500 }),
          SqlCheckpoints.make({ tablePrefix: prefix, statementTimeoutMillis: 500 })
        ]).pipe(Effect.provide(client))
        const stream = StreamId.make("caller-tx-1")
        const ids = [newId("caller-tx")]
        yield* store.append(stream, ExpectedVersion.noStream, noted(ids))
        yield* checkpoints.acquire({ consumer: "reader", owner: "a", leaseMillis: 60_000, startAfter: Position.start })
        const tables = ["events", "streams", "checkpoints"].map((table) => `${prefix}${table}`).join(", ")
        const release = yield* holdLock((sql) => sql.unsafe(`LOCK TABLE ${tables} IN ACCESS EXCLUSIVE MODE`), admin())
        const held = 1_500
        const results = yield* Effect.all({
          outside: timed(store.version(stream)),
          read: timed(sql.withTransaction(Stream.runCollect(store.read(stream)))),
          version: timed(sql.withTransaction(store.version(stream))),
          readAll: timed(sql.withTransaction(Stream.runCollect(store.readAll()))),
          checkpoint: timed(checkpoints.transactional(checkpoints.get("reader"))),
          released: Effect.zipRight(Effect.sleep(held), release)
        }, { concurrency: "unbounded" })

        expect(failure(results.outside.exit)).toMatchObject({ _tag: "StoreError", cause: { _tag: "TimedOut" } })
        expectAtDeadline(results.outside.millis, 500)
        for (const name of ["read", "version", "readAll", "checkpoint"] as const) {
          const { exit, millis }: { exit: Exit.Exit<unknown, unknown>; millis: number } = results[name]
          expect(Exit.isSuccess(exit), `${name}: ${Exit.isFailure(exit) ? Cause.pretty(exit.cause) : ""}`).toBe(true)
          // It waited for the lock, past its deadline.
          expect(millis, name).toBeGreaterThanOrEqual(held - 5)
        }
        const value = <A>(exit: Exit.Exit<A, unknown>) => Exit.isSuccess(exit) ? exit.value : undefined
        expect(Chunk.toArray(value(results.read.exit) ?? Chunk.empty()).map((event) => event.id)).toEqual(ids)
        expect(value(results.version.exit)).toBe(1)
        expect(Chunk.toArray(value(results.readAll.exit) ?? Chunk.empty()).map((event) => event.id)).toEqual(ids)
        expect(value(results.checkpoint.exit)).toMatchObject({
          _tag: "Some",
          value: { consumer: "reader", owner: "a" }
        })
      })),
    { timeout: 30_000 }
  )

  it.live(
    "the store's connections carry the server's statement and idle-in-transaction timeouts",
    () =>
      Effect.gen(function*() {
        const checkpoints = yield* Checkpoints.Checkpoints
        // A statement of another client inside `transactional` runs on the store's connection, in its transaction.
        const settings = yield* checkpoints.transactional(
          query((sql) =>
            sql<
              { statement: string; idle: string; lock: string }
            >`SELECT current_setting('statement_timeout') AS statement,
              current_setting('idle_in_transaction_session_timeout') AS idle, current_setting('lock_timeout') AS lock`
          )
        )
        expect(settings[0]).toEqual({ statement: "2345ms", idle: "2345ms", lock: "678ms" })
      }).pipe(
        Effect.provide(PgEventStore.layer({
          url: cluster.url,
          tablePrefix: "settings_",
          statementTimeoutMillis: 2_345,
          lockTimeoutMillis: 678
        }))
      )
  )

  it.live(
    "a server that stops at once and starts again: appends and reads are StoreErrors while it is down, and afterwards they work again and a subscriber hears commits again",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const prefix = "restart_"
        // Only a notification wakes this store's subscribers soon: it looks for other commits once a minute.
        const listening = yield* storeOf(PgEventStore.layer({
          url: cluster.url,
          tablePrefix: prefix,
          pollIntervalMillis: 60_000,
          statementTimeoutMillis: 1_000,
          connectTimeoutMillis: 1_000
        }))
        const writer = yield* storeOf(
          PgEventStore.layer({ url: cluster.url, tablePrefix: prefix, connectTimeoutMillis: 1_000 })
        )
        const heard = new Set<string>()
        yield* Effect.forkScoped(
          Stream.runForEach(listening.subscribe(), (event) => Effect.sync(() => heard.add(event.id)))
        )
        /** Appends (sending the same batch again while the store fails), then waits until the subscriber hears it. */
        const appendAndHear = (stream: StreamId.StreamId) =>
          Effect.gen(function*() {
            const ids = [newId("restart")]
            yield* writer.append(stream, ExpectedVersion.any, noted(ids)).pipe(
              Effect.retry({ schedule: Schedule.spaced("200 millis"), times: 50 })
            )
            yield* Effect.sync(() => heard.has(ids[0]!)).pipe(
              Effect.repeat({ schedule: Schedule.spaced("50 millis"), until: (yes) => yes }),
              Effect.timeoutFail({
                duration: "15 seconds",
                onTimeout: () => new Error("the subscriber never heard it")
              })
            )
          })
        const stream = StreamId.make("restart-1")
        yield* appendAndHear(stream)
        yield* Effect.sync(() => cluster.stopImmediate())
        // The writer's, not the subscriber's store: a failed append wakes its own store's subscribers, whose read
        // would then fail too, and end the subscription.
        const down = yield* Effect.all([
          timed(writer.append(stream, ExpectedVersion.any, noted([newId("down")]))),
          timed(writer.version(stream))
        ], { concurrency: "unbounded" }).pipe(Effect.ensuring(Effect.sync(() => cluster.restart())))
        for (const { exit, millis } of down) {
          expect(failure(exit)).toMatchObject({ _tag: "StoreError" })
          expect(millis).toBeLessThan(1_000 + margin)
        }
        yield* appendAndHear(stream)
        expect(
          yield* listening.append(stream, ExpectedVersion.any, noted([newId("again")])).pipe(
            Effect.retry({ schedule: Schedule.spaced("200 millis"), times: 50 })
          )
        ).toMatchObject({ streamId: stream })
      })),
    { timeout: 90_000 }
  )
})

describe("SQLite deadlines", () => {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), "concord-deadlines-"))

  it.live(
    "an append waiting for the process's one connection fails at its deadline with mayHaveCommitted false, a read at its own; nothing is written",
    () =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const store = yield* SqlEventStore.make({ appendTimeoutMillis: 500, statementTimeoutMillis: 700 })
        const stream = StreamId.make("waiting-1")
        yield* store.append(stream, ExpectedVersion.noStream, noted([newId("first")]))
        // Another fiber's transaction holds the connection.
        const holding = yield* Deferred.make<void>()
        const holder = yield* Effect.fork(
          sql.withTransaction(Effect.zipRight(Deferred.succeed(holding, undefined), Effect.sleep("3 seconds")))
        )
        yield* Deferred.await(holding)
        const [append, version] = yield* Effect.all([
          timed(store.append(stream, ExpectedVersion.exact(1), noted([newId("late")]))),
          timed(store.version(stream))
        ], { concurrency: "unbounded" })
        expect(timedOut(append.exit)).toEqual({ streamId: stream, timeoutMillis: 500, mayHaveCommitted: false })
        expectAtDeadline(append.millis, 500)
        expect(failure(version.exit)).toMatchObject({ _tag: "StoreError", cause: { _tag: "TimedOut", millis: 700 } })
        expectAtDeadline(version.millis, 700)
        yield* Fiber.join(holder)
        expect(yield* store.version(stream)).toBe(1)
        expect(yield* store.append(stream, ExpectedVersion.exact(1), noted([newId("next")]))).toMatchObject({
          firstVersion: 2
        })
      }).pipe(Effect.provide(SqliteClient.layer({ filename: path.join(directory, "waiting.db") }))),
    { timeout: 30_000 }
  )

  it.live("SqliteEventStore's default append deadline is a second past its busy timeout", () =>
    Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      const checkpoints = yield* Checkpoints.Checkpoints
      const stream = StreamId.make("default-1")
      // A consumer's transaction on the store's own connection, longer than the deadline.
      const holding = yield* Deferred.make<void>()
      const holder = yield* Effect.fork(
        checkpoints.transactional(Effect.zipRight(Deferred.succeed(holding, undefined), Effect.sleep("2 seconds")))
      )
      yield* Deferred.await(holding)
      const { exit, millis } = yield* timed(store.append(stream, ExpectedVersion.any, noted([newId("late")])))
      expect(timedOut(exit)).toEqual({ streamId: stream, timeoutMillis: 1_200, mayHaveCommitted: false })
      expectAtDeadline(millis, 1_200)
      yield* Fiber.join(holder)
    }).pipe(
      Effect.provide(SqliteEventStore.layer({ filename: path.join(directory, "default.db"), busyTimeoutMillis: 200 }))
    ), { timeout: 30_000 })

  it.effect("a deadline out of range is a StoreError naming it, on either store (PostgreSQL: before connecting)", () =>
    Effect.gen(function*() {
      const cases = [
        { appendTimeoutMillis: 0 },
        { appendTimeoutMillis: Number.NaN },
        { appendTimeoutMillis: 1.5 },
        { appendTimeoutMillis: 2 ** 31 },
        { statementTimeoutMillis: 0 },
        { statementTimeoutMillis: -1 },
        { statementTimeoutMillis: Infinity }
      ]
      for (const [i, options] of cases.entries()) {
        const name = Object.keys(options)[0]!
        const filename = path.join(directory, `options-${i}.db`)
        for (
          const layer of [
            SqliteEventStore.layer({ filename, ...options }),
            PgEventStore.layer({ url: "postgres://127.0.0.1:1/nowhere", ...options })
          ]
        ) {
          const error = failure(yield* Effect.exit(Effect.provide(EventStore.EventStore, layer)))
          expect(error).toMatchObject({ _tag: "StoreError", operation: expect.stringContaining(`the option ${name}`) })
        }
      }
      for (const connectTimeoutMillis of [0, 0.5, 2 ** 31]) {
        const error = failure(
          yield* Effect.exit(
            Effect.provide(
              EventStore.EventStore,
              PgEventStore.layer({ url: "postgres://127.0.0.1:1/nowhere", connectTimeoutMillis })
            )
          )
        )
        expect(error).toMatchObject({ operation: expect.stringContaining("the option connectTimeoutMillis") })
      }
    }))
})
