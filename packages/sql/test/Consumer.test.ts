// The SQL checkpoint store (leases by the database's clock, fenced saves) and the transactional consumer on SQLite and
// PostgreSQL, in one process. Consumers in many processes, killed and restarted: ConsumerProcesses.test.ts.
import { Checkpoints, Consumer, EventStore, ExpectedVersion, Position, StreamId } from "@concord/core"
import { SqlCheckpoints, SqlEventStore } from "@concord/sql"
import { SqliteEventStore } from "@concord/sql/sqlite"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as SqlClient from "@effect/sql/SqlClient"
import { describe, expect, inject, it } from "@effect/vitest"
import { Chunk, Effect, FastCheck, Fiber, Layer, Option, Redacted, Schedule, Stream } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { postgresSuites } from "./support/suites.js"

const directory = fs.mkdtempSync(path.join(os.tmpdir(), "concord-consumer-"))
const pgUrl = inject("pgUrl")

const targets = [
  { suite: "consumers and their checkpoints on SQLite", backend: "sqlite" as const, skip: false },
  { suite: postgresSuites.consumers, backend: "pg" as const, skip: pgUrl === undefined }
]

type Target = (typeof targets)[number]

const layerFor = (target: Target, tablePrefix: string) =>
  Layer.mergeAll(SqlEventStore.layer({ tablePrefix }), SqlCheckpoints.layer({ tablePrefix })).pipe(
    Layer.provideMerge(
      target.backend === "sqlite"
        ? SqliteEventStore.layerClient({ filename: path.join(directory, `${tablePrefix}.db`) })
        : PgClient.layer({ url: Redacted.make(pgUrl ?? "") }) as Layer.Layer<SqlClient.SqlClient, unknown>
    )
  )

const prefixFor = (target: Target, name: string) => `${name}_${target.backend}_${Date.now().toString(36)}_`

const appendEvents = (count: number) =>
  Effect.flatMap(EventStore.EventStore, (store) =>
    Effect.forEach(
      Array.from({ length: count }, (_, i) => i),
      (i) => store.append(StreamId.make(`acct-${i % 3}`), ExpectedVersion.any, [{ type: "Deposited", data: { n: i } }]),
      { discard: true }
    ))

const nOf = (event: { readonly data: unknown }) => (event.data as { readonly n: number }).n

const readLog = Effect.flatMap(
  EventStore.EventStore,
  (store) => Effect.map(Stream.runCollect(store.readAll()), Chunk.toArray)
)

const waitForCheckpoint = (name: string, position: Position.Position) =>
  Effect.flatMap(Checkpoints.Checkpoints, (checkpoints) =>
    checkpoints.get(name).pipe(
      Effect.repeat({
        until: (row) => Option.isSome(row) && Position.toString(row.value.position) === Position.toString(position),
        schedule: Schedule.spaced("10 millis")
      }),
      Effect.timeout("30 seconds")
    ))

for (const target of targets) {
  describe.skipIf(target.skip)(target.suite, () => {
    it.live("leases by the database's clock: one holder, fenced saves and renewals, expiry, release", () => {
      const prefix = prefixFor(target, "cp_lease")
      return Effect.gen(function*() {
        const checkpoints = yield* Checkpoints.Checkpoints
        const request = (owner: string, leaseMillis = 300) => ({
          consumer: "ledger",
          owner,
          leaseMillis,
          startAfter: Position.make({ sequence: 5n })
        })
        const positionOf = Effect.map(checkpoints.get("ledger"), (row) => {
          const checkpoint = Option.getOrThrow(row)
          return { position: Position.toString(checkpoint.position), owner: checkpoint.owner }
        })
        expect(yield* checkpoints.get("ledger")).toEqual(Option.none())
        expect(Option.map(yield* checkpoints.acquire(request("a")), Position.toString)).toEqual(Option.some("5"))
        expect(yield* checkpoints.acquire(request("b"))).toEqual(Option.none())
        // The holder may take it again (an answer it never got); the lease's end is the database's now + lease.
        expect(Option.isSome(yield* checkpoints.acquire(request("a")))).toBe(true)
        const leaseUntil = Option.getOrThrow(yield* checkpoints.get("ledger")).leaseUntil
        expect(Math.abs(leaseUntil - (Date.now() + 300))).toBeLessThan(5_000)

        expect(yield* checkpoints.save("ledger", "a", Position.make({ sequence: 7n }))).toBe(true)
        expect(yield* checkpoints.save("ledger", "b", Position.make({ sequence: 9n }))).toBe(false)
        expect(yield* checkpoints.renew("ledger", "b", 300)).toBe(false)
        expect(yield* checkpoints.renew("ledger", "a", 300)).toBe(true)
        expect(yield* positionOf).toEqual({ position: "7", owner: "a" })

        // Expired: another takes it at the saved position, and the old holder can change nothing.
        yield* Effect.sleep("450 millis")
        expect(Option.map(yield* checkpoints.acquire(request("b", 60_000)), Position.toString)).toEqual(
          Option.some("7")
        )
        expect(yield* checkpoints.save("ledger", "a", Position.make({ sequence: 8n }))).toBe(false)
        expect(yield* checkpoints.renew("ledger", "a", 300)).toBe(false)
        yield* checkpoints.release("ledger", "a")
        expect(yield* positionOf).toEqual({ position: "7", owner: "b" })
        expect(yield* checkpoints.acquire(request("a"))).toEqual(Option.none())

        // Released: free at once, position kept.
        yield* checkpoints.release("ledger", "b")
        expect(yield* positionOf).toEqual({ position: "7", owner: undefined })
        expect(Option.map(yield* checkpoints.acquire(request("a")), Position.toString)).toEqual(Option.some("7"))
      }).pipe(Effect.provide(layerFor(target, prefix)))
    })

    it.live("a commit position (PostgreSQL's transaction id) round-trips through the checkpoint", () => {
      const prefix = prefixFor(target, "cp_position")
      return Effect.gen(function*() {
        const checkpoints = yield* Checkpoints.Checkpoints
        const position = Position.make({ commit: 2n ** 63n + 11n, sequence: 2n ** 64n - 1n })
        yield* checkpoints.acquire({ consumer: "big", owner: "a", leaseMillis: 1_000, startAfter: Position.start })
        expect(yield* checkpoints.save("big", "a", position)).toBe(true)
        const stored = Option.getOrThrow(yield* checkpoints.get("big")).position
        expect(Position.toString(stored)).toBe(Position.toString(position))
      }).pipe(Effect.provide(layerFor(target, prefix)))
    })

    it.live("a save only moves a checkpoint forward: a stale one leaves it, and answers that the owner holds the lease", () => {
      const prefix = prefixFor(target, "cp_forward")
      return Effect.gen(function*() {
        const checkpoints = yield* Checkpoints.Checkpoints
        const at = (commit: bigint, sequence: bigint) => Position.make({ commit, sequence })
        const stored = (consumer: string) =>
          Effect.map(checkpoints.get(consumer), (row) => Position.toString(Option.getOrThrow(row).position))
        yield* checkpoints.acquire({ consumer: "c", owner: "a", leaseMillis: 60_000, startAfter: Position.start })
        const steps: ReadonlyArray<readonly [Position.Position, string]> = [
          [at(9n, 5n), "9.5"],
          // Compared as numbers, not as text: "10.1" sorts before "9.5".
          [at(10n, 1n), "10.1"],
          [at(9n, 99n), "10.1"],
          [at(10n, 1n), "10.1"],
          [at(0n, 99n), "10.1"],
          [at(10n, 2n), "10.2"],
          [at(2n ** 64n - 1n, 0n), "18446744073709551615.0"],
          [at(2n ** 64n - 2n, 2n ** 64n - 1n), "18446744073709551615.0"],
          [at(2n ** 64n - 1n, 2n ** 64n - 1n), "18446744073709551615.18446744073709551615"]
        ]
        for (const [position, expected] of steps) {
          expect(yield* checkpoints.save("c", "a", position), Position.toString(position)).toBe(true)
          expect(yield* stored("c"), Position.toString(position)).toBe(expected)
        }
        // Fenced as before: another owner's save, forward or not, changes nothing.
        expect(yield* checkpoints.save("c", "b", Position.start)).toBe(false)

        // Any sequence of saves leaves the latest position of the log among them, whatever their order.
        const part = FastCheck.oneof(
          FastCheck.bigInt({ min: 0n, max: 12n }),
          FastCheck.bigInt({ min: 0n, max: 2n ** 64n - 1n })
        )
        const saves = FastCheck.array(
          FastCheck.record({ commit: part, sequence: part }).map((parts) => Position.make(parts)),
          { minLength: 1, maxLength: 8 }
        )
        for (const [run, positions] of FastCheck.sample(saves, { numRuns: 25, seed: 42 }).entries()) {
          const consumer = `run-${run}`
          yield* checkpoints.acquire({ consumer, owner: "a", leaseMillis: 60_000, startAfter: Position.start })
          for (const position of positions) expect(yield* checkpoints.save(consumer, "a", position)).toBe(true)
          const latest = positions.reduce((a, b) => Position.max(a, b), Position.start)
          expect(yield* stored(consumer)).toBe(Position.toString(latest))
        }
      }).pipe(Effect.provide(layerFor(target, prefix)))
    })

    it.live("interrupted, a consumer saves what it handled and releases its lease; the next run goes on after it", () => {
      const prefix = prefixFor(target, "cp_stop")
      return Effect.gen(function*() {
        yield* appendEvents(5)
        const seen: Array<string> = []
        const consume = Consumer.run({
          name: "stoppable",
          checkpointEvery: { events: 100, within: "1 hour" },
          handle: (event) => Effect.sync(() => seen.push(event.id))
        })
        const handled = (count: number) =>
          Effect.sync(() => seen.length >= count).pipe(
            Effect.repeat({ until: (done) => done, schedule: Schedule.spaced("5 millis") }),
            Effect.timeout("30 seconds")
          )
        const fiber = yield* Effect.fork(consume)
        yield* handled(5)
        const log = yield* readLog
        expect(Option.getOrThrow(yield* Consumer.checkpoint("stoppable")).owner).toBeDefined()
        yield* Fiber.interrupt(fiber)
        const stopped = Option.getOrThrow(yield* Consumer.checkpoint("stoppable"))
        expect({ position: Position.toString(stopped.position), owner: stopped.owner }).toEqual({
          position: Position.toString(log[4]!.position),
          owner: undefined
        })

        yield* appendEvents(2)
        const next = yield* Effect.fork(consume)
        yield* handled(7)
        yield* Fiber.interrupt(next)
        expect(seen).toEqual((yield* readLog).map((event) => event.id))
      }).pipe(Effect.provide(layerFor(target, prefix)))
    })

    for (const every of [1, 4]) {
      it.live(`transactional (groups of ${every}): a failed attempt's writes roll back; each event is projected once`, () => {
        const prefix = prefixFor(target, `cp_tx${every}`)
        return Effect.gen(function*() {
          const sql = yield* SqlClient.SqlClient
          const projected = sql(`${prefix}projected`)
          yield* sql`CREATE TABLE ${projected} (event_id TEXT NOT NULL)`
          yield* appendEvents(10)
          const log = yield* readLog
          const failures = new Map<string, number>()
          const fiber = yield* Effect.fork(Consumer.run({
            name: "projection",
            transactional: true,
            checkpointEvery: { events: every },
            retry: Schedule.recurs(3),
            handle: (event) =>
              Effect.gen(function*() {
                yield* sql`INSERT INTO ${projected} (event_id) VALUES (${event.id})`
                // Two events fail twice each, after their write.
                const failed = failures.get(event.id) ?? 0
                if ([3, 7].includes(nOf(event)) && failed < 2) {
                  failures.set(event.id, failed + 1)
                  return yield* Effect.fail("not yet")
                }
              })
          }))
          yield* waitForCheckpoint("projection", log[log.length - 1]!.position)
          yield* Fiber.interrupt(fiber)
          const rows = yield* sql<{ event_id: string }>`SELECT event_id FROM ${projected}`
          expect(rows.map((row) => row.event_id).sort()).toEqual(log.map((event) => event.id).sort())
          expect([...failures.values()]).toEqual([2, 2])
        }).pipe(Effect.provide(layerFor(target, prefix)))
      })
    }

    it.live("transactional: a handler that keeps failing stops the consumer; its writes for that event roll back", () => {
      const prefix = prefixFor(target, "cp_txfail")
      return Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const projected = sql(`${prefix}projected`)
        yield* sql`CREATE TABLE ${projected} (event_id TEXT NOT NULL)`
        yield* appendEvents(5)
        const log = yield* readLog
        const error = yield* Effect.flip(Consumer.run({
          name: "stuck",
          transactional: true,
          retry: Schedule.recurs(2),
          handle: (event) =>
            Effect.zipRight(
              sql`INSERT INTO ${projected} (event_id) VALUES (${event.id})`,
              nOf(event) === 2 ? Effect.fail("refused") : Effect.void
            )
        }))
        expect(error).toMatchObject({ _tag: "HandlerFailed", eventId: log[2]!.id, attempts: 3, cause: "refused" })
        const rows = yield* sql<{ event_id: string }>`SELECT event_id FROM ${projected}`
        expect(rows.map((row) => row.event_id).sort()).toEqual([log[0]!.id, log[1]!.id].sort())
        const checkpoint = Option.getOrThrow(yield* Consumer.checkpoint("stuck"))
        expect(Position.toString(checkpoint.position)).toBe(Position.toString(log[1]!.position))
        expect(checkpoint.owner).toBe(undefined)
      }).pipe(Effect.provide(layerFor(target, prefix)))
    })
  })
}
