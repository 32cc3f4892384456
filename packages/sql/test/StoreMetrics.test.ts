// The SQL stores' own metrics on SQLite, and on PostgreSQL's group commit without a database: the size of each commit
// group and each append's wait for the write lock, as deltas of the global histograms (other tests update them too).
import { Event, EventStore, ExpectedVersion, StreamId, StreamVersion } from "@concord/core"
import { SqlEventStore } from "@concord/sql"
import { SqliteEventStore } from "@concord/sql/sqlite"
import * as SqlClient from "@effect/sql/SqlClient"
import { describe, expect, it } from "@effect/vitest"
import Sqlite from "better-sqlite3"
import { Effect, Either, Exit, Fiber, Layer, Metric } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Deadline from "../src/internal/deadline.js"
import * as PgGroupCommit from "../src/internal/pgGroupCommit.js"
import { together } from "./support/groupCommit.js"
import * as InstrumentedStore from "./support/instrumentedStore.js"

const directory = fs.mkdtempSync(path.join(os.tmpdir(), "concord-store-metrics-"))

const note = (i: number): ReadonlyArray<Event.EventData> => [{ type: "Noted", data: { i } }]
const unique = (name: string) => StreamId.make(`${name}-${Date.now().toString(36)}-${Math.random().toString(36)}`)

/** The count and sum of both histograms of one store's tag. */
const observe = (store: "sqlite" | "postgres") =>
  Effect.all({
    groups: Metric.value(Metric.tagged(SqlEventStore.metrics.commitGroupSize, "store", store)),
    waits: Metric.value(Metric.tagged(SqlEventStore.metrics.lockWait, "store", store))
  }).pipe(Effect.map(({ groups, waits }) => ({ groups: groups.count, appends: groups.sum, waits: waits.count })))

/** What the histograms of `store` gained while `effect` ran. */
const delta = <A, E, R>(store: "sqlite" | "postgres", effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const before = yield* observe(store)
    const result = yield* effect
    const after = yield* observe(store)
    return {
      result,
      groups: after.groups - before.groups,
      appends: after.appends - before.appends,
      waits: after.waits - before.waits
    }
  })

describe("SQLite store metrics", () => {
  it.effect("sorts a group of each size up to the largest, 256 appends, into a bucket of its own bound", () =>
    Effect.gen(function*() {
      const { buckets } = yield* Metric.value(SqlEventStore.metrics.commitGroupSize)
      expect(buckets.map(([bound]) => bound)).toEqual([1, 2, 4, 8, 16, 32, 64, 128, 256, Number.POSITIVE_INFINITY])
    }))

  it.live("appends committed in groups: one group size per COMMIT, summing to the appends; one lock wait each", () => {
    const counts = InstrumentedStore.instruments("no statement holds this")
    const filename = path.join(directory, "groups.db")
    return Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      const appends = 300
      const streams = Array.from({ length: appends }, (_, i) => unique(`group-${i}`))
      const commitsBefore = counts.commits
      // More than one group's 256, each answered (a wrong expected version is answered in its group too).
      const seen = yield* delta(
        "sqlite",
        together(
          streams.map((stream, i) =>
            Effect.either(
              store.append(stream, i % 10 === 0 ? ExpectedVersion.exact(3) : ExpectedVersion.noStream, note(i))
            )
          )
        )
      )
      expect(seen.result.filter(Either.isLeft).map((answer) => answer.left._tag)).toEqual(
        Array.from({ length: appends / 10 }, () => "WrongExpectedVersion")
      )
      expect(seen.groups).toBe(counts.commits - commitsBefore)
      expect(seen.groups).toBeGreaterThanOrEqual(2)
      expect(seen.appends).toBe(appends)
      expect(seen.waits).toBe(appends)
    }).pipe(Effect.provide(InstrumentedStore.layer({ filename }, counts)))
  }, { timeout: 30_000 })

  it.live(
    "a group whose COMMIT failed counts not; each append run alone again counts as a group of 1 if it commits",
    () => {
      const counts = InstrumentedStore.instruments("no statement holds this")
      const filename = path.join(directory, "failed-group.db")
      return Effect.gen(function*() {
        const store = yield* EventStore.EventStore
        // An event of this type breaks a deferred foreign key, which only COMMIT checks.
        const db = new Sqlite(filename)
        db.exec(`CREATE TABLE parent (id INTEGER PRIMARY KEY);
        CREATE TABLE child (parent INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);
        CREATE TRIGGER fail_commit AFTER INSERT ON concord_events WHEN NEW.type = 'FailCommit'
        BEGIN INSERT INTO child VALUES (1); END`)
        db.close()
        const commitsBefore = counts.commits
        const seen = yield* delta(
          "sqlite",
          together([
            store.append(unique("breaker"), ExpectedVersion.any, [{ type: "FailCommit", data: {} }]),
            store.append(unique("a"), ExpectedVersion.noStream, note(1)),
            store.append(unique("b"), ExpectedVersion.noStream, note(2))
          ].map(Effect.exit))
        )
        expect(seen.result.map(Exit.isSuccess)).toEqual([false, true, true])
        // The group's COMMIT, then one for each append alone (the breaker's fails again).
        expect(counts.commits - commitsBefore).toBe(4)
        expect(seen.groups).toBe(2)
        expect(seen.appends).toBe(2)
        // Each append waited for the lock once, up to its group's BEGIN.
        expect(seen.waits).toBe(3)
      }).pipe(Effect.provide(InstrumentedStore.layer({ filename }, counts)))
    },
    { timeout: 30_000 }
  )

  it.live("a store over a client of its own: one lock wait per write transaction, none inside the caller's", () => {
    const filename = path.join(directory, "client.db")
    return Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      const sql = yield* SqlClient.SqlClient
      const stream = unique("client")
      const seen = yield* delta(
        "sqlite",
        Effect.all([
          // The fast path, then the full path: a transaction each.
          store.append(stream, ExpectedVersion.noStream, note(1)),
          store.append(stream, ExpectedVersion.any, note(2)),
          // A savepoint of the caller's transaction, whose lock is the caller's.
          sql.withTransaction(store.append(stream, ExpectedVersion.any, note(3)))
        ])
      )
      expect(seen.result.map((result) => result.lastVersion)).toEqual([1, 2, 3])
      expect(seen.waits).toBe(2)
      // No group commit here.
      expect(seen.groups).toBe(0)
    }).pipe(
      Effect.provide(SqlEventStore.layer().pipe(Layer.provideMerge(SqliteEventStore.layerClient({ filename }))))
    )
  }, { timeout: 30_000 })
})

describe("PostgreSQL group commit's metrics, without a database", () => {
  /** A group commit whose statements the test answers by hand. */
  const committer = () => {
    const sent: Array<(answer: Either.Either<ReadonlyArray<string>, unknown>) => void> = []
    const groupCommit = PgGroupCommit.make({
      appendTimeout: 10_000,
      send: ({ done, take }) => {
        if (take() !== undefined) sent.push(done)
        return () => {}
      }
    })
    const write = (stream: string) => {
      const streamId = StreamId.make(stream)
      const version = StreamVersion.make(1)
      const record = {
        id: Event.makeId(),
        streamId,
        version,
        type: "Noted",
        data: {},
        metadata: {},
        recordedAt: new Date()
      }
      const batch = { streamId, firstVersion: version, lastVersion: version, rebasedOver: 0 }
      return Effect.fork(
        groupCommit.optimistic(streamId, StreamVersion.make(0), Deadline.commitment()).write([record], batch)
      )
    }
    return { sent, write }
  }

  const nextTurn = Effect.async<void>((resume) => void setImmediate(() => resume(Effect.void)))

  it.live("each write sent waits once; a group's size is recorded once its statement returned, not if it failed", () =>
    Effect.gen(function*() {
      const { sent, write } = committer()
      const first = yield* delta(
        "postgres",
        Effect.zipLeft(Effect.all(["a", "b", "c"].map(write)), Effect.zipRight(Effect.yieldNow(), nextTurn))
      )
      expect(sent).toHaveLength(1)
      // Sent: each waited, up to then; the statement has not returned.
      expect([first.waits, first.groups]).toEqual([3, 0])
      const answered = yield* delta(
        "postgres",
        Effect.sync(() => sent[0]!(Either.right(["written", "missed", "written"])))
      )
      // The group's size is what it wrote: the missed append goes the full path.
      expect([answered.waits, answered.groups, answered.appends]).toEqual([0, 1, 2])
      for (const fiber of first.result) yield* Fiber.await(fiber)
      const failed = yield* delta(
        "postgres",
        Effect.gen(function*() {
          const fibers = yield* Effect.all(["d", "e"].map(write))
          yield* Effect.zipRight(Effect.yieldNow(), nextTurn)
          sent[1]!(Either.left(new Error("the connection was lost")))
          return yield* Effect.all(fibers.map(Fiber.await))
        })
      )
      expect(failed.result.map(Exit.isFailure)).toEqual([true, true])
      expect([failed.waits, failed.groups]).toEqual([2, 0])
    }))
})
