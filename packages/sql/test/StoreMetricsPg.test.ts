// The SQL stores' own metrics on PostgreSQL: the size of each commit group and each append's wait for the right to
// write, on the group path and on the full path, as deltas of the global histograms (other tests update them too).
import type { Event } from "@concord/core"
import { EventStore, ExpectedVersion, StreamId } from "@concord/core"
import { SqlEventStore } from "@concord/sql"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as SqlClient from "@effect/sql/SqlClient"
import { describe, expect, inject, it } from "@effect/vitest"
import { Effect, Either, Layer, Metric, Redacted } from "effect"
import type * as PgGroupCommit from "../src/internal/pgGroupCommit.js"
import * as PgGroupSender from "../src/internal/pgGroupSender.js"
import * as SqlStore from "../src/internal/sqlStore.js"
import { postgresSuites } from "./support/suites.js"

const pgUrl = inject("pgUrl")

const note = (i: number): ReadonlyArray<Event.EventData> => [{ type: "Noted", data: { i } }]
const unique = (name: string) => StreamId.make(`${name}-${Date.now().toString(36)}-${Math.random().toString(36)}`)

/** The count and sum of both histograms of PostgreSQL's tag. */
const observe = Effect.all({
  groups: Metric.value(Metric.tagged(SqlEventStore.metrics.commitGroupSize, "store", "postgres")),
  waits: Metric.value(Metric.tagged(SqlEventStore.metrics.lockWait, "store", "postgres"))
}).pipe(Effect.map(({ groups, waits }) => ({ groups: groups.count, appends: groups.sum, waits: waits.count })))

/** What the histograms gained while `effect` ran. */
const delta = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const before = yield* observe
    const result = yield* effect
    const after = yield* observe
    return {
      result,
      groups: after.groups - before.groups,
      appends: after.appends - before.appends,
      waits: after.waits - before.waits
    }
  })

/** The group statements that returned their statuses. */
interface Counts {
  answered: number
}

/** `PgEventStore`'s own sender, counting the group statements that returned. */
const counting = (send: PgGroupCommit.Send, counts: Counts): PgGroupCommit.Send => (group) =>
  send({
    take: group.take,
    done: (answer) => {
      if (Either.isRight(answer)) counts.answered++
      group.done(answer)
    }
  })

/** A store as `PgEventStore.layer` makes it (its group commit on a pool of its own), with the client in context. */
const layer = (url: string, counts: Counts) =>
  Layer.scoped(
    EventStore.EventStore,
    Effect.gen(function*() {
      const sendGroup = yield* PgGroupSender.make({ url, connectTimeout: 5_000 })
      return yield* SqlStore.make(
        { tablePrefix: `metrics_${Date.now().toString(36)}_` },
        { sendGroup: (appendMany) => counting(sendGroup(appendMany), counts) }
      )
    })
  ).pipe(Layer.provideMerge(PgClient.layer({ url: Redacted.make(url) })))

describe.skipIf(pgUrl === undefined)(postgresSuites.storeMetrics, () => {
  const url = pgUrl ?? ""

  it.live("appends committed in groups: one group size per statement, summing to the appends; one wait each", () => {
    const counts: Counts = { answered: 0 }
    return Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      const appends = 150
      const streams = Array.from({ length: appends }, (_, i) => unique(`group-${i}`))
      const seen = yield* delta(
        Effect.all(streams.map((stream, i) => store.append(stream, ExpectedVersion.noStream, note(i))), {
          concurrency: "unbounded"
        })
      )
      expect(seen.result.map((result) => result.lastVersion)).toEqual(streams.map(() => 1))
      expect(seen.groups).toBe(counts.answered)
      // More than one group's 64.
      expect(seen.groups).toBeGreaterThanOrEqual(3)
      expect(seen.appends).toBe(appends)
      expect(seen.waits).toBe(appends)
    }).pipe(Effect.provide(layer(url, counts)))
  }, { timeout: 60_000 })

  it.live(
    "the full path: one wait for the stream's lock per transaction, in the caller's too; a miss waits twice, in no group",
    () => {
      const counts: Counts = { answered: 0 }
      return Effect.gen(function*() {
        const store = yield* EventStore.EventStore
        const sql = yield* SqlClient.SqlClient
        const stream = unique("full")
        yield* store.append(stream, ExpectedVersion.noStream, note(1))
        const full = yield* delta(Effect.all([
          store.append(stream, ExpectedVersion.any, note(2)),
          sql.withTransaction(store.append(stream, ExpectedVersion.any, note(3)))
        ]))
        expect(full.result.map((result) => result.lastVersion)).toEqual([2, 3])
        expect([full.waits, full.groups]).toEqual([2, 0])
        // A stale version: its group's statement misses (writing nothing, so no group is counted), and the full path
        // takes it and finds conflicts.
        const answeredBefore = counts.answered
        const missed = yield* delta(Effect.flip(store.append(stream, ExpectedVersion.exact(1), note(4))))
        expect(missed.result._tag).toBe("ConcurrencyConflict")
        expect(counts.answered - answeredBefore).toBe(1)
        expect([missed.waits, missed.groups, missed.appends]).toEqual([2, 0, 0])
      }).pipe(Effect.provide(layer(url, counts)))
    },
    { timeout: 60_000 }
  )
})
