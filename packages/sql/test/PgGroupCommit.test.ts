// Group commit on PostgreSQL: the fast path's appends that meet in the queue go to the database in one statement, each
// still checked and failing alone. The function that statement calls, on its own; many fibers whose appends of every
// kind share groups, audited; and the deadlines of appends waiting for a group or sent in one, on a server that hangs.
import { Event, EventStore, EventStoreError, ExpectedVersion, StreamId } from "@concord/core"
import { Registry } from "@concord/example-crm"
import { PgEventStore } from "@concord/sql/pg"
import { Postgres } from "@concord/test-postgres"
import { Checker } from "@concord/testing"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as SqlClient from "@effect/sql/SqlClient"
import { afterAll, beforeAll, describe, expect, inject, it } from "@effect/vitest"
import { Cause, Context, Effect, Exit, Fiber, Layer, Redacted, Schedule } from "effect"
import { audit, type Line, registerClients, workload } from "./support/pgGroupCommit.js"
import { postgresSuites } from "./support/suites.js"

const pgUrl = inject("pgUrl")

/** The event store of `layer`, for the enclosing scope. */
const storeOf = <E>(layer: Layer.Layer<EventStore.EventStore, E>) =>
  Effect.map(Layer.build(layer), (context) => Context.get(context, EventStore.EventStore))

/** A statement of the test's own, on a client of its own. */
const query = <A extends object>(
  url: string,
  statement: (sql: SqlClient.SqlClient) => Effect.Effect<ReadonlyArray<A>, unknown>
) =>
  Effect.flatMap(SqlClient.SqlClient, statement).pipe(
    Effect.provide(PgClient.layer({ url: Redacted.make(url) })),
    Effect.orDie
  )

const note = (id: string) => ({ id: Event.EventId.make(id), type: "Noted", data: { id } })

describe.skipIf(pgUrl === undefined)(postgresSuites.groupCommit, () => {
  const url = pgUrl ?? ""

  it.live(
    "the group's function: each append written, missed or refused alone, in order, a refused one leaving no trace",
    () =>
      Effect.gen(function*() {
        const prefix = `group_fn_${Date.now().toString(36)}_`
        // The store's migrations make the function.
        yield* Effect.scoped(storeOf(PgEventStore.layer({ url, tablePrefix: prefix })))
        const append = (stream: string, expected: number, ids: ReadonlyArray<string>) => ({
          stream,
          expected,
          first: expected + 1,
          last: expected + ids.length,
          rebased: 0,
          events: ids.map((id, i) => ({
            version: expected + 1 + i,
            id,
            type: "Noted",
            data: { id },
            metadata: {},
            recorded_at: new Date(0).toISOString()
          }))
        })
        const group = [
          append("a", 0, ["a1", "a2"]),
          // The same event id in another stream: refused by the unique key, and its stream row stays untouched.
          append("b", 0, ["b1", "a2"]),
          // A stale version of a stream the group itself just wrote.
          append("a", 0, ["a3"]),
          // The version the group itself made: it follows.
          append("a", 2, ["a4"]),
          append("c", 0, ["c1"]),
          // Expected ahead of the stream.
          append("c", 5, ["c2"])
        ]
        const [row] = yield* query(url, (sql) =>
          sql<{ statuses: ReadonlyArray<string> }>`SELECT ${sql(`${prefix}append_many`)}(${
            JSON.stringify(group)
          }::jsonb) AS statuses`)
        expect(row!.statuses).toEqual(["written", "unique", "missed", "written", "written", "missed"])
        const streams = yield* query(url, (sql) =>
          sql<{ stream_id: string; version: number }>`SELECT stream_id, version FROM ${sql(`${prefix}streams`)}
            ORDER BY stream_id`)
        expect(streams).toEqual([{ stream_id: "a", version: 3 }, { stream_id: "c", version: 1 }])
        const events = yield* query(url, (sql) =>
          sql<{ event_id: string; stream_id: string; version: number; batch_first: number; batch_last: number }>`
            SELECT event_id, stream_id, version, batch_first, batch_last FROM ${sql(`${prefix}events`)}
            ORDER BY position`)
        expect(events).toEqual([
          { event_id: "a1", stream_id: "a", version: 1, batch_first: 1, batch_last: 2 },
          { event_id: "a2", stream_id: "a", version: 2, batch_first: 1, batch_last: 2 },
          { event_id: "a4", stream_id: "a", version: 3, batch_first: 3, batch_last: 3 },
          { event_id: "c1", stream_id: "c", version: 1, batch_first: 1, batch_last: 1 }
        ])
        // One transaction wrote them all, and the stream rows carry its id: the global log's order holds.
        const ids = yield* query(url, (sql) =>
          sql<{ transactions: number }>`SELECT count(DISTINCT tx_id)::int AS transactions FROM (
            SELECT tx_id FROM ${sql(`${prefix}events`)} UNION ALL SELECT tx_id FROM ${sql(`${prefix}streams`)}) AS ids`)
        expect(ids).toEqual([{ transactions: 1 }])
      }),
    { timeout: 60_000 }
  )

  it.live(
    "many fibers whose appends share groups: conflicting, stale but commuting, resent, duplicate-id and invalid ones; nothing lost, duplicated, falsely accepted or wrongly refused, and each error is the append's own",
    () =>
      Effect.gen(function*() {
        const prefix = `group_fibers_${Date.now().toString(36)}_`
        const streams = Array.from({ length: 16 }, (_, i) => `client-${i}`)
        const { lines, registered, logs } = yield* Effect.gen(function*() {
          const registered = yield* registerClients(streams)
          const lines: Array<Line> = []
          yield* workload({ name: "f", streams, fibers: 24, rounds: 30, record: (line) => lines.push(line) })
          return { lines, registered, logs: yield* Checker.readLogs(streams) }
        }).pipe(Effect.provide(PgEventStore.layer({ url, tablePrefix: prefix, registry: Registry.registry })))
        const { problems, tally } = audit(lines, logs, registered)
        expect(problems).toEqual([])
        // Every side was exercised.
        for (
          const outcome of [
            "note: acknowledged past others",
            "value: ConcurrencyConflict",
            "resend: acknowledged",
            "pair: DuplicateEventId",
            "invalid: InvalidEventData"
          ]
        ) expect(tally[outcome] ?? 0, outcome).toBeGreaterThan(0)
        // Appends committed together: the groups were real.
        const shared = yield* query(url, (sql) =>
          sql<{ groups: number }>`SELECT count(*)::int AS groups FROM (SELECT tx_id FROM ${sql(`${prefix}events`)}
            GROUP BY tx_id HAVING count(DISTINCT (stream_id, batch_first)) > 1) AS shared`)
        expect(shared[0]!.groups).toBeGreaterThan(10)
        console.log(
          `group commit, 24 fibers: ${JSON.stringify(tally)}; ${shared[0]!.groups} transactions of many appends`
        )
      }),
    { timeout: 120_000 }
  )
})

describe.skipIf(pgUrl === undefined)(postgresSuites.groupCommitDeadlines, () => {
  let cluster: Postgres.Cluster
  beforeAll(async () => {
    cluster = (await Postgres.start({ settings: ["-c fsync=off"] }))!
  }, 60_000)
  afterAll(() => cluster?.stop())

  /** The AppendTimeout an append failed with, as a plain object, or what it did instead. */
  const timedOut = (exit: Exit.Exit<unknown, unknown>) => {
    const error = Exit.isFailure(exit) && Cause.isFailType(exit.cause) ? exit.cause.error : undefined
    return EventStoreError.isAppendTimeout(error)
      ? { mayHaveCommitted: error.mayHaveCommitted, timeoutMillis: error.timeoutMillis }
      : Exit.isFailure(exit)
      ? Cause.pretty(exit.cause)
      : "it succeeded"
  }

  it.live(
    "a server that hangs: appends sent in a group may have committed, one waiting behind both groups answers that nothing was written and never is, and a group's bound frees its committer: a later append's group waits for a connection, and is never sent",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const prefix = "group_frozen_"
        const store = yield* storeOf(
          PgEventStore.layer({ url: cluster.url, tablePrefix: prefix, appendTimeoutMillis: 1_000 })
        )
        const streams = ["sent-1", "sent-2", "queued", "later"].map((name) => StreamId.make(name))
        yield* Effect.all(
          streams.map((stream) => store.append(stream, ExpectedVersion.noStream, [note(`${stream}-0`)]))
        )
        // Connections open, so that the statements below are sent before the server hangs.
        yield* Effect.all(Array.from({ length: 8 }, () => store.version(streams[0]!)), { concurrency: "unbounded" })
        // Both of the groups' connections too: appends that come while a group is on its way form a second group.
        yield* Effect.all(
          Array.from({ length: 40 }, (_, i) =>
            Effect.zipRight(
              Effect.sleep(i % 10),
              store.append(StreamId.make(`warm-${i}`), ExpectedVersion.noStream, [note(`warm-${i}`)])
            )),
          { concurrency: "unbounded" }
        )
        const appendTo = (stream: StreamId.StreamId, after: number) =>
          Effect.fork(Effect.zipRight(
            Effect.sleep(after),
            Effect.exit(store.append(stream, ExpectedVersion.exact(1), [note(`${stream}-1`)]))
          ))
        yield* Effect.sync(() => cluster.freeze())
        yield* Effect.addFinalizer(() => Effect.sync(() => cluster.thaw()))
        // One group each for the first two (a committer takes a group as soon as it is free), the third waits.
        const first = yield* appendTo(streams[0]!, 0)
        const second = yield* appendTo(streams[1]!, 100)
        const queued = yield* appendTo(streams[2]!, 200)
        // After the groups' bound (twice the deadline), the committers are free and their connections closed: a later
        // append's group waits for a new connection, which the server does not give, so it was not sent.
        const later = yield* appendTo(streams[3]!, 2_300)
        const exits = yield* Effect.all([first, second, queued, later].map(Fiber.join))
        // The second group was sent if the pool had its connection open before the hang (the warm-up above opens it
        // on most runs), and otherwise waited for it: either way its answer says which, and is checked below.
        const secondSent = (timedOut(exits[1]!) as { mayHaveCommitted?: unknown }).mayHaveCommitted
        expect(exits.map(timedOut)).toEqual([
          { mayHaveCommitted: true, timeoutMillis: 1_000 },
          { mayHaveCommitted: secondSent === false ? false : true, timeoutMillis: 1_000 },
          { mayHaveCommitted: false, timeoutMillis: 1_000 },
          { mayHaveCommitted: false, timeoutMillis: 1_000 }
        ])
        yield* Effect.sync(() => cluster.thaw())
        // The store answers again; whatever was sent has ended by then (committed or cancelled).
        yield* store.version(streams[0]!).pipe(Effect.retry({ schedule: Schedule.spaced("200 millis"), times: 25 }))
        yield* Effect.sleep("1 second")
        const stored = yield* query(
          cluster.url,
          (sql) => sql<{ event_id: string }>`SELECT event_id FROM ${sql(`${prefix}events`)} WHERE event_id LIKE '%-1'`
        )
        expect(stored.map((row) => row.event_id)).not.toContain("queued-1")
        expect(stored.map((row) => row.event_id)).not.toContain("later-1")
        if (secondSent === false) expect(stored.map((row) => row.event_id)).not.toContain("sent-2-1")
        // The append that waited went nowhere: sent again it goes in, once.
        expect(yield* store.append(streams[2]!, ExpectedVersion.exact(1), [note("queued-1")])).toMatchObject({
          firstVersion: 2
        })
      })),
    { timeout: 60_000 }
  )
})
