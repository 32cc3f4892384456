// The SQL stores' read side where it depends on the database: filters done in SQL agree with EventStore.matches on
// stream ids made to trip them; a page says how far it read; SQLite subscribers hear other connections' commits and
// appends made in a caller's transaction; PostgreSQL holds delivery behind an open transaction and never reorders a
// stream.
import type { Event } from "@concord/core"
import { EventStore, ExpectedVersion, Position, StoreBackend, StreamId } from "@concord/core"
import { SqlEventStore } from "@concord/sql"
import { PgEventStore } from "@concord/sql/pg"
import { SqliteEventStore } from "@concord/sql/sqlite"
import { Checker } from "@concord/testing"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as SqlClient from "@effect/sql/SqlClient"
import { describe, expect, inject, it } from "@effect/vitest"
import type { Duration } from "effect"
import { Cause, Chunk, Context, Deferred, Effect, Exit, Fiber, Layer, Redacted, Stream } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as GlobalLog from "../src/internal/globalLog.js"
import * as Migrations from "../src/internal/migrations.js"
import { postgresSuites } from "./support/suites.js"

const directory = fs.mkdtempSync(path.join(os.tmpdir(), "concord-read-side-"))
const pgUrl = inject("pgUrl")
let tables = 0
const freshPrefix = (label: string) => `${label}_${Date.now().toString(36)}_${(tables++).toString(36)}_`

const readAll = (store: EventStore.Service, options?: EventStore.ReadAllOptions) =>
  Effect.map(Stream.runCollect(store.readAll(options)), Chunk.toReadonlyArray)

/** A subscription in the background, recording what it is delivered, interrupted when the scope closes. */
const follow = (store: EventStore.Service, options?: EventStore.SubscribeOptions) =>
  Effect.suspend(() => {
    const delivered: Array<Event.RecordedEvent> = []
    return Effect.map(
      Effect.forkDaemon(
        Stream.runForEach(store.subscribe(options), (event) => Effect.sync(() => delivered.push(event)))
      ),
      (fiber) => ({ delivered, fiber })
    )
  })

const until = (done: () => boolean, what: () => string, within: Duration.DurationInput = "20 seconds") =>
  Effect.suspend(() => done() ? Effect.void : Effect.sleep("5 millis")).pipe(
    Effect.repeat({ until: done }),
    Effect.timeoutFail({ duration: within, onTimeout: () => new Error(what()) })
  )

const note = (text: string) => [{ type: "Noted", data: { text } }]

// -----------------------------------------------------------------------------
// filters in SQL
// -----------------------------------------------------------------------------

/** Stream ids whose categories look alike to a careless prefix match (LIKE wildcards, dashes, case, astral chars). */
const trickyStreams = [
  "a-1",
  "a",
  "ab-1",
  "a_b-1",
  "axb-1",
  "a%b-1",
  "a-b-c",
  "A-1",
  "-x",
  "--",
  "😀-1",
  "😀x-1",
  "é-1",
  "e\u0301-1"
]
const trickyTypes = ["T", "t", "T%", "T_", "😀"]
const filters: ReadonlyArray<EventStore.Filter> = [
  { categories: ["a"] },
  { categories: ["a_b"] },
  { categories: ["a%b"] },
  { categories: ["a%"] },
  { categories: ["a-b"] },
  { categories: [""] },
  { categories: ["😀"] },
  { categories: ["é", "A"] },
  { categories: ["a", "ab", "a"] },
  { categories: [] },
  { categories: ["a\u0000"] },
  { categories: ["\ud800"] },
  { types: ["T%"] },
  { types: ["T_", "😀"] },
  { types: ["t"] },
  { types: [] },
  { types: ["T\u0000"] },
  { types: ["T"], categories: ["a", "😀"] },
  {}
]

const filtersAgree = (store: EventStore.Service) =>
  Effect.gen(function*() {
    for (const [i, id] of trickyStreams.entries()) {
      yield* store.append(StreamId.make(id), ExpectedVersion.any, [
        { type: trickyTypes[i % trickyTypes.length]!, data: { i } },
        { type: trickyTypes[(i + 2) % trickyTypes.length]!, data: { i } }
      ])
    }
    const log = yield* readAll(store)
    expect(log).toHaveLength(2 * trickyStreams.length)
    for (const filter of filters) {
      const expected = log.filter(EventStore.matches(filter)).map((event) => event.id)
      expect({ filter, ids: (yield* readAll(store, { filter })).map((event) => event.id) }).toEqual({
        filter,
        ids: expected
      })
      // Read a page at a time too: a resumed filtered read continues where the last left off.
      const paged: Array<string> = []
      let after: Position.Position = Position.start
      for (;;) {
        const page = yield* readAll(store, { filter, after, limit: 2 })
        paged.push(...page.map((event) => event.id))
        if (page.length < 2) break
        after = page[page.length - 1]!.position
      }
      expect({ filter, ids: paged }).toEqual({ filter, ids: expected })
    }
  })

/** A page that found fewer events than asked says it read to the end of the log, so a filtered reader skips ahead. */
const pagesSayHowFarTheyRead = (dialect: "sqlite" | "pg", prefix: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const store = yield* SqlEventStore.make({ tablePrefix: prefix })
    for (let i = 0; i < 30; i++) yield* store.append(StreamId.make(`other-${i % 3}`), ExpectedVersion.any, note(`${i}`))
    yield* store.append(StreamId.make("wanted-1"), ExpectedVersion.any, note("w"))
    for (let i = 0; i < 30; i++) yield* store.append(StreamId.make(`other-${i % 3}`), ExpectedVersion.any, note(`${i}`))
    const log = yield* readAll(store)
    const end = log[log.length - 1]!.position
    const live = GlobalLog.make({
      sql,
      dialect,
      names: Migrations.tables(prefix),
      signal: StoreBackend.makeCommitSignal(),
      statementTimeout: 30_000
    })
    const filter = { categories: ["wanted"] }
    const short = yield* live.readAfter(Position.start, 10, filter)
    expect(short.events.map((event) => event.streamId)).toEqual(["wanted-1"])
    expect(short.through).toEqual(end)
    const nothing = yield* live.readAfter(short.events[0]!.position, 10, filter)
    expect(nothing).toEqual({ events: [], through: end })
    // A full page goes exactly as far as its last event.
    const full = yield* live.readAfter(Position.start, 5, undefined)
    expect(full.through).toEqual(log[4]!.position)
    expect(yield* live.end).toEqual(end)
    // A position past the log reads nothing and stays where it was.
    const beyond = Position.make({ commit: end.commit, sequence: end.sequence + 1000n })
    expect(yield* live.readAfter(beyond, 10, undefined)).toEqual({ events: [], through: beyond })
  })

// -----------------------------------------------------------------------------
// SQLite
// -----------------------------------------------------------------------------

describe("the read side on SQLite", () => {
  const file = (name: string) => path.join(directory, `${name}-${Date.now().toString(36)}.db`)

  it.live("filters in SQL select exactly what EventStore.matches selects", () =>
    Effect.flatMap(EventStore.EventStore, filtersAgree).pipe(
      Effect.provide(SqliteEventStore.layer({ filename: file("filters") }))
    ))

  it.live("a short page reads through the end of the log", () =>
    pagesSayHowFarTheyRead("sqlite", "pages_").pipe(
      Effect.provide(SqliteEventStore.layerClient({ filename: file("pages") }))
    ))

  it.live("a subscriber hears another connection's commits by the data_version check, within the poll interval", () =>
    Effect.gen(function*() {
      const filename = file("connections")
      const reader = yield* Layer.build(SqliteEventStore.layer({ filename, pollIntervalMillis: 20 }))
      const writer = yield* Layer.build(SqliteEventStore.layer({ filename }))
      const readerStore = Context.get(reader, EventStore.EventStore)
      const writerStore = Context.get(writer, EventStore.EventStore)
      const follower = yield* follow(readerStore)
      for (let i = 1; i <= 5; i++) {
        yield* writerStore.append(StreamId.make("client-1"), ExpectedVersion.exact(i - 1), note(`${i}`))
        yield* until(
          () => follower.delivered.length === i,
          () => `the reader's subscriber has ${follower.delivered.length} of ${i} events`,
          "5 seconds"
        )
      }
      expect(follower.delivered.map((event) => event.version)).toEqual([1, 2, 3, 4, 5])
      yield* Fiber.interrupt(follower.fiber)
    }).pipe(Effect.scoped))

  it.live("an append in a caller's transaction is delivered once that transaction commits, not before", () =>
    Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      const sql = yield* SqlClient.SqlClient
      const follower = yield* follow(store)
      yield* store.append(StreamId.make("client-1"), ExpectedVersion.noStream, note("before"))
      yield* until(() => follower.delivered.length === 1, () => "the subscriber did not get the first event")
      const inside = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      const transaction = yield* Effect.fork(sql.withTransaction(
        store.append(StreamId.make("client-1"), ExpectedVersion.exact(1), note("inside")).pipe(
          Effect.zipRight(Deferred.succeed(inside, undefined)),
          Effect.zipRight(Deferred.await(release))
        )
      ))
      yield* Deferred.await(inside)
      yield* Effect.sleep("300 millis")
      expect(follower.delivered).toHaveLength(1)
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(transaction)
      yield* until(() => follower.delivered.length === 2, () => "the committed append was not delivered", "5 seconds")
      expect(follower.delivered.map((event) => event.version)).toEqual([1, 2])
      yield* Fiber.interrupt(follower.fiber)
    }).pipe(
      Effect.scoped,
      Effect.provide(
        SqlEventStore.layer({ pollIntervalMillis: 50 }).pipe(
          Layer.provideMerge(SqliteEventStore.layerClient({ filename: file("caller") }))
        )
      )
    ))
})

// -----------------------------------------------------------------------------
// PostgreSQL
// -----------------------------------------------------------------------------

describe.skipIf(pgUrl === undefined)(postgresSuites.readSide, () => {
  const client = PgClient.layer({ url: Redacted.make(pgUrl ?? "") })

  it.live("filters in SQL select exactly what EventStore.matches selects", () =>
    Effect.flatMap(EventStore.EventStore, filtersAgree).pipe(
      Effect.provide(PgEventStore.layer({ url: pgUrl ?? "", tablePrefix: freshPrefix("filters") }))
    ))

  it.live("a short page reads through the end of the log", () =>
    pagesSayHowFarTheyRead("pg", freshPrefix("pages")).pipe(Effect.provide(client)))

  it.live(
    "transaction ids order as numbers: an event of a transaction with a longer id comes after",
    () =>
      Effect.gen(function*() {
        const store = yield* SqlEventStore.make({ tablePrefix: freshPrefix("xids") })
        const sql = yield* SqlClient.SqlClient
        yield* store.append(StreamId.make("client-1"), ExpectedVersion.noStream, note("shorter id"))
        // Take transaction ids until the next one has one more digit: as text, "999" would sort after "1000".
        const current = BigInt((yield* sql<{ id: string }>`SELECT pg_current_xact_id()::text AS id`)[0]!.id)
        const burn = 10n ** BigInt(current.toString().length) - current
        yield* sql.unsafe(`CREATE TEMP TABLE burn (n int)`)
        yield* sql.unsafe(`DO $$ BEGIN FOR i IN 1..${burn} LOOP
        BEGIN INSERT INTO burn VALUES (i); EXCEPTION WHEN others THEN NULL; END; END LOOP; END $$`)
        yield* store.append(StreamId.make("client-2"), ExpectedVersion.noStream, note("longer id"))
        const log = yield* readAll(store)
        expect(log.map((event) => event.data)).toEqual([{ text: "shorter id" }, { text: "longer id" }])
        const [shorter, longer] = log.map((event) => event.position.commit.toString())
        expect(longer!.length).toBeGreaterThan(shorter!.length)
        expect(Position.isAfter(log[1]!.position, log[0]!.position)).toBe(true)
        // A page of one is the first in log order (the database orders the page, not the reader afterwards).
        expect((yield* readAll(store, { limit: 1 })).map((event) => event.id)).toEqual([log[0]!.id])
        // Resuming after the first reads the second, and a subscriber delivers them in the same order.
        expect((yield* readAll(store, { after: log[0]!.position })).map((event) => event.id)).toEqual([log[1]!.id])
        expect(Chunk.toReadonlyArray(yield* Stream.runCollect(Stream.take(store.subscribe(), 2)))).toEqual(log)
      }).pipe(Effect.provide(client)),
    { timeout: 60_000 }
  )

  it.live(
    "an append held open in a caller's transaction holds back every later commit, then all come in order, none skipped",
    () =>
      Effect.gen(function*() {
        const prefix = freshPrefix("held")
        // The writer is a store over a client of our own, to open a transaction around an append. The reader is
        // another store, with a connection pool of its own, that polls once a minute: it must be told by NOTIFY.
        const writer = yield* SqlEventStore.make({ tablePrefix: prefix })
        const sql = yield* SqlClient.SqlClient
        const readerContext = yield* Layer.build(
          PgEventStore.layer({ url: pgUrl ?? "", tablePrefix: prefix, pollIntervalMillis: 60_000 })
        )
        const reader = Context.get(readerContext, EventStore.EventStore)
        const elsewhere = yield* follow(reader)
        const here = yield* follow(writer)
        yield* writer.append(StreamId.make("client-0"), ExpectedVersion.noStream, note("before"))
        yield* until(() => elsewhere.delivered.length === 1 && here.delivered.length === 1, () => "no first event")

        const inside = yield* Deferred.make<void>()
        const release = yield* Deferred.make<void>()
        const held = yield* Effect.fork(sql.withTransaction(
          writer.append(StreamId.make("client-held"), ExpectedVersion.noStream, note("held")).pipe(
            Effect.zipRight(Deferred.succeed(inside, undefined)),
            Effect.zipRight(Deferred.await(release))
          )
        ))
        yield* Deferred.await(inside)
        // Later appends commit, by both paths, while the held one is open.
        for (let i = 1; i <= 5; i++) {
          yield* writer.append(StreamId.make(`client-${i}`), ExpectedVersion.noStream, note(`later ${i}`))
          yield* writer.append(StreamId.make(`client-${i}`), ExpectedVersion.any, note(`later ${i}, again`))
        }
        yield* Effect.sleep("1500 millis")
        expect(elsewhere.delivered.map((event) => event.streamId)).toEqual(["client-0"])
        expect(here.delivered.map((event) => event.streamId)).toEqual(["client-0"])
        expect((yield* readAll(writer)).map((event) => event.streamId)).toEqual(["client-0"])

        yield* Deferred.succeed(release, undefined)
        yield* Fiber.join(held)
        const committedAt = Date.now()
        yield* until(
          () => elsewhere.delivered.length === 12,
          () => `the reader got ${elsewhere.delivered.length} of 12`
        )
        const notifiedAfter = Date.now() - committedAt
        yield* until(() => here.delivered.length === 12, () => `the writer's subscriber got ${here.delivered.length}`)

        const log = yield* readAll(writer)
        expect(log.map((event) => event.streamId)).toEqual([
          "client-0",
          "client-held",
          ...[1, 2, 3, 4, 5].flatMap((i) => [`client-${i}`, `client-${i}`])
        ])
        // The held event took its position before the later ones, and its transaction id too: it comes first.
        expect(log[1]!.position.commit < log[2]!.position.commit).toBe(true)
        for (const follower of [elsewhere, here]) {
          expect(follower.delivered).toEqual(log)
          Checker.assertSubscription({ delivered: follower.delivered, log })
        }
        // Told by NOTIFY at the commit, not by its once-a-minute poll.
        expect(notifiedAfter).toBeLessThan(30_000)
        yield* Fiber.interrupt(elsewhere.fiber)
        yield* Fiber.interrupt(here.fiber)
      }).pipe(Effect.scoped, Effect.provide(client)),
    { timeout: 60_000 }
  )

  it.live(
    "a store whose events table's name is longer than a channel name still notifies its readers",
    () =>
      Effect.gen(function*() {
        // 58 + "events" is 64 bytes: PostgreSQL cuts the table's name, and the channel is cut alike.
        const prefix = `${freshPrefix("long")}${"p".repeat(58)}`.slice(0, 58)
        const writer = yield* SqlEventStore.make({ tablePrefix: prefix })
        const sql = yield* SqlClient.SqlClient
        const readerContext = yield* Layer.build(
          PgEventStore.layer({ url: pgUrl ?? "", tablePrefix: prefix, pollIntervalMillis: 60_000 })
        )
        const reader = yield* follow(Context.get(readerContext, EventStore.EventStore))
        yield* Effect.sleep("200 millis")
        yield* writer.append(StreamId.make("client-1"), ExpectedVersion.noStream, note("own transaction"))
        yield* sql.withTransaction(writer.append(StreamId.make("client-2"), ExpectedVersion.noStream, note("caller's")))
        yield* until(
          () => reader.delivered.length === 2,
          () => `the reader got ${reader.delivered.length} of 2`,
          "10 seconds"
        )
      }).pipe(Effect.scoped, Effect.provide(client)),
    { timeout: 60_000 }
  )

  it.live(
    "an append in a transaction older than the stream's last append fails, writing nothing, and the stream stays in order",
    () =>
      Effect.gen(function*() {
        const store = yield* SqlEventStore.make({ tablePrefix: freshPrefix("order") })
        const sql = yield* SqlClient.SqlClient
        const stream = StreamId.make("client-ordered")
        const started = yield* Deferred.make<void>()
        const go = yield* Deferred.make<void>()
        // The caller's transaction takes its id first (it writes another stream), then appends to the stream after a
        // later transaction did: in transaction-id order its event would come before the stream's first.
        const caller = (wait: boolean) =>
          sql.withTransaction(Effect.gen(function*() {
            yield* store.append(StreamId.make("client-other"), ExpectedVersion.any, note("first write"))
            if (wait) {
              yield* Deferred.succeed(started, undefined)
              yield* Deferred.await(go)
            }
            return yield* store.append(stream, ExpectedVersion.any, note("from the caller"))
          }))
        const first = yield* Effect.fork(Effect.exit(caller(true)))
        yield* Deferred.await(started)
        yield* store.append(stream, ExpectedVersion.noStream, note("later transaction"))
        yield* Deferred.succeed(go, undefined)
        const exit = yield* Fiber.join(first)
        expect(Exit.isFailure(exit)).toBe(true)
        const error = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
        expect(error).toBeInstanceOf(EventStore.StoreError)
        expect(((error as EventStore.StoreError).cause as Error).message).toMatch(/retry the transaction/)
        // Nothing of the failed transaction was written; run again, it appends after the stream's first event.
        expect((yield* readAll(store)).map((event) => event.data)).toEqual([{ text: "later transaction" }])
        yield* caller(false)
        const log = yield* readAll(store)
        Checker.assertLog({
          log,
          streams: yield* Checker.readLogs([stream, "client-other"]).pipe(
            Effect.provideService(EventStore.EventStore, store)
          )
        })
        expect(log.filter((event) => event.streamId === stream).map((event) => event.version)).toEqual([1, 2])
      }).pipe(Effect.provide(client)),
    { timeout: 60_000 }
  )
})
