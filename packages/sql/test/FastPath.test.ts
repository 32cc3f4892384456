// The common append (expected version = the stream's current one) is written without reading first; these cases are
// where that shortcut meets another writer or a batch it has seen before, and must answer as the full path would.
import { Event, EventStore, ExpectedVersion, StreamId } from "@concord/core"
import { SqlEventStore } from "@concord/sql"
import { SqliteEventStore } from "@concord/sql/sqlite"
import { EventStoreSuite } from "@concord/testing/vitest"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as SqlClient from "@effect/sql/SqlClient"
import { describe, expect, inject, it } from "@effect/vitest"
import { Chunk, Effect, Either, Layer, Redacted, Stream } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { postgresSuites } from "./support/suites.js"

const options = { registry: EventStoreSuite.registry }
const unique = (name: string) => StreamId.make(`${name}-${Date.now().toString(36)}-${Math.random().toString(36)}`)
const renamed = (name: string) => [{ type: "Renamed", data: { name } }]
const noted = (text: string) => [{ type: "Noted", data: { text } }]

/** Every stored version of a stream, in order. */
const versions = (store: EventStore.Service, id: StreamId.StreamId) =>
  Stream.runCollect(store.read(id)).pipe(Effect.map((events) => Chunk.toArray(events).map((event) => event.version)))

const cases = (
  name: string,
  layer: Layer.Layer<EventStore.EventStore | SqlClient.SqlClient, unknown>
) =>
  it.layer(layer, { timeout: 60_000 })(`${name}: the fast path`, (it) => {
    it.effect("writers racing at the same expected version: one wins as written, the registry decides the others", () =>
      Effect.gen(function*() {
        const store = yield* EventStore.EventStore
        const id = unique("race")
        yield* store.append(id, ExpectedVersion.noStream, renamed("first"), options)
        const conflicting = yield* Effect.all(
          Array.from({ length: 6 }, (_, i) =>
            Effect.either(store.append(id, ExpectedVersion.exact(1), renamed(`${i}`), options))),
          { concurrency: "unbounded" }
        )
        const won = conflicting.filter(Either.isRight).map((result) =>
          result.right
        )
        expect(won).toEqual([{ streamId: id, firstVersion: 2, lastVersion: 2, rebasedOver: 0 }])
        for (const lost of conflicting.filter(Either.isLeft)) expect(lost.left._tag).toBe("ConcurrencyConflict")
        // Notes commute with notes: every racer goes in, one as written and the others after it.
        const commuting = yield* Effect.all(
          Array.from({ length: 6 }, (_, i) => store.append(id, ExpectedVersion.exact(2), noted(`${i}`), options)),
          { concurrency: "unbounded" }
        )
        expect(commuting.map((result) => result.rebasedOver).sort()).toEqual([0, 1, 2, 3, 4, 5])
        expect(yield* versions(store, id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
        expect(yield* store.version(id)).toBe(8)
      }))

    it.effect("creators racing with noStream: exactly one creates the stream, the registry decides the others", () =>
      Effect.gen(function*() {
        const store = yield* EventStore.EventStore
        const id = unique("create")
        const results = yield* Effect.all(
          Array.from({ length: 6 }, (_, i) =>
            Effect.either(store.append(id, ExpectedVersion.noStream, [{ type: "Created", data: { i } }], options))),
          { concurrency: "unbounded" }
        )
        expect(
          results.filter(Either.isRight).map((result) =>
            result.right
          )
        ).toEqual([
          { streamId: id, firstVersion: 1, lastVersion: 1, rebasedOver: 0 }
        ])
        for (const lost of results.filter(Either.isLeft)) expect(lost.left._tag).toBe("ConcurrencyConflict")
        expect(yield* versions(store, id)).toEqual([1])
      }))

    it.effect("a batch sent again after it went in gets its original result, whatever version it names", () =>
      Effect.gen(function*() {
        const store = yield* EventStore.EventStore
        const id = unique("again")
        const batch = [
          { id: Event.EventId.make(`${id}-a`), type: "Noted", data: { text: "a" } },
          { id: Event.EventId.make(`${id}-b`), type: "Noted", data: { text: "b" } }
        ]
        const original = yield* store.append(id, ExpectedVersion.noStream, batch, options)
        expect(original).toEqual({ streamId: id, firstVersion: 1, lastVersion: 2, rebasedOver: 0 })
        // The same expected version: the stream moved, so the guard stops it before any insert.
        expect(yield* store.append(id, ExpectedVersion.noStream, batch, options)).toEqual(original)
        // The stream's current version: the guard passes and the event ids' unique key stops it.
        expect(yield* store.append(id, ExpectedVersion.exact(2), batch, options)).toEqual(original)
        // Another stream at its current version taking one of the ids: nothing written there.
        const other = unique("again-other")
        const taken = yield* Effect.flip(store.append(other, ExpectedVersion.noStream, [batch[1]!], options))
        expect(taken).toMatchObject({ _tag: "DuplicateEventId", eventIds: [batch[1]!.id] })
        expect(yield* store.version(other)).toBe(0)
        expect(yield* versions(store, id)).toEqual([1, 2])
      }))

    it.effect("noStream on a stream whose row exists at version 0 (an empty append made it) goes in", () =>
      Effect.gen(function*() {
        const store = yield* EventStore.EventStore
        const id = unique("empty")
        yield* store.append(id, ExpectedVersion.any, [], options)
        expect(yield* store.append(id, ExpectedVersion.noStream, noted("x"), options)).toMatchObject({
          firstVersion: 1,
          rebasedOver: 0
        })
      }))

    it.effect("an expected version ahead of the stream is a WrongExpectedVersion, nothing written", () =>
      Effect.gen(function*() {
        const store = yield* EventStore.EventStore
        const id = unique("ahead")
        expect(yield* Effect.flip(store.append(id, ExpectedVersion.exact(3), noted("x"), options))).toMatchObject({
          _tag: "WrongExpectedVersion",
          actualVersion: 0
        })
        yield* store.append(id, ExpectedVersion.noStream, noted("x"), options)
        expect(yield* Effect.flip(store.append(id, ExpectedVersion.exact(2), noted("y"), options))).toMatchObject({
          _tag: "WrongExpectedVersion",
          actualVersion: 1
        })
        // At the 32-bit version columns' end, where the batch would pass it: refused by the store, not failed by the
        // database; past it, the expected version is not one any store accepts.
        expect(yield* Effect.flip(store.append(id, ExpectedVersion.exact(2 ** 31 - 1), noted("z"), options)))
          .toMatchObject({ _tag: "WrongExpectedVersion", expectedVersion: 2 ** 31 - 1, actualVersion: 1 })
        expect(yield* Effect.flip(store.append(id, ExpectedVersion.exact(2 ** 31), noted("z"), options)))
          .toMatchObject({ _tag: "InvalidArgument", operation: "append", streamId: id })
        expect(yield* versions(store, id)).toEqual([1])
      }))

    it.effect("bad input is refused before any write, as on the full path", () =>
      Effect.gen(function*() {
        const store = yield* EventStore.EventStore
        const id = unique("bad")
        const twice = Event.EventId.make(`${id}-twice`)
        expect(
          yield* Effect.flip(store.append(id, ExpectedVersion.noStream, [
            { id: twice, type: "Noted", data: {} },
            { id: twice, type: "Noted", data: {} }
          ]))
        ).toMatchObject({ _tag: "DuplicateEventId" })
        expect(yield* Effect.flip(store.append(id, ExpectedVersion.noStream, [{ type: "Noted", data: { n: NaN } }])))
          .toMatchObject({ _tag: "InvalidEventData" })
        expect(yield* store.version(id)).toBe(0)
      }))

    it.effect(
      "inside a caller's transaction, a taken event id is a DuplicateEventId and the transaction goes on",
      () =>
        Effect.gen(function*() {
          const store = yield* EventStore.EventStore
          const sql = yield* SqlClient.SqlClient
          const [first, second] = [unique("tx-a"), unique("tx-b")]
          const shared = Event.EventId.make(`${first}-shared`)
          yield* store.append(first, ExpectedVersion.noStream, [{ id: shared, type: "Noted", data: {} }])
          yield* sql.withTransaction(Effect.gen(function*() {
            const taken = yield* Effect.flip(
              store.append(second, ExpectedVersion.noStream, [{ id: shared, type: "Noted", data: {} }])
            )
            expect(taken).toMatchObject({ _tag: "DuplicateEventId" })
            yield* store.append(second, ExpectedVersion.noStream, noted("after"))
          }))
          expect(yield* versions(store, second)).toEqual([1])
        })
    )
  })

const directory = fs.mkdtempSync(path.join(os.tmpdir(), "concord-fast-"))
const sqliteOptions = { filename: path.join(directory, "fast.db") }
cases("SQLite", SqlEventStore.layer().pipe(Layer.provideMerge(SqliteEventStore.layerClient(sqliteOptions))))

const pgUrl = inject("pgUrl")
describe.skipIf(pgUrl === undefined)(postgresSuites.fastPath, () => {
  cases(
    "PostgreSQL",
    SqlEventStore.layer({ tablePrefix: "fast_" }).pipe(
      Layer.provideMerge(PgClient.layer({ url: Redacted.make(pgUrl ?? "") }))
    )
  )
})
