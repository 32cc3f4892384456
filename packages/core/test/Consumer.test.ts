import { Checkpoints, Consumer, EventStore, ExpectedVersion, Position, StreamId } from "@concord/core"
import type { Event } from "@concord/core"
import { describe, expect, it } from "@effect/vitest"
import { Cause, Chunk, Effect, Exit, Fiber, Layer, Option, Schedule, Schema, Stream } from "effect"

const layer = () => Layer.merge(EventStore.layerMemory(), Checkpoints.layerMemory())

/** Appends `count` events to `stream`, one append each, typed `type`. */
const appendEvents = (stream: string, count: number, type = "Happened") =>
  Effect.flatMap(
    EventStore.EventStore,
    (store) =>
      Effect.forEach(Array.from({ length: count }, (_, i) => i), () =>
        store.append(StreamId.make(stream), ExpectedVersion.any, [{ type, data: {} }]), { discard: true })
  )

const log = Effect.flatMap(
  EventStore.EventStore,
  (store) => Stream.runCollect(store.readAll()).pipe(Effect.map(Chunk.toArray))
)

/** Waits until `condition` holds, for at most `millis`. */
const eventually = (condition: () => boolean, millis = 5_000) =>
  Effect.repeat(Effect.sync(condition), {
    until: (holds) => holds,
    schedule: Schedule.spaced("2 millis")
  }).pipe(
    Effect.timeoutFail({
      duration: millis,
      onTimeout: () => new Error(`the condition did not hold within ${millis} ms`)
    }),
    Effect.orDie
  )

const positionOf = (name: string) =>
  Effect.map(
    Consumer.checkpoint(name),
    (row) => Option.map(row, (checkpoint) => Position.toString(checkpoint.position))
  )

const ids = (events: ReadonlyArray<Event.RecordedEvent>) => events.map((event) => event.id)

describe("the memory checkpoints", () => {
  it.effect("a save only moves a checkpoint forward, as the SQL ones: a stale one leaves it and still answers true", () =>
    Effect.gen(function*() {
      const checkpoints = yield* Checkpoints.makeMemory()
      const at = (commit: bigint, sequence: bigint) => Position.make({ commit, sequence })
      yield* checkpoints.acquire({ consumer: "c", owner: "a", leaseMillis: 60_000, startAfter: Position.start })
      for (
        const [position, expected] of [
          [at(9n, 5n), "9.5"],
          [at(10n, 1n), "10.1"],
          [at(9n, 99n), "10.1"],
          [at(10n, 1n), "10.1"],
          [at(10n, 2n), "10.2"]
        ] as const
      ) {
        expect(yield* checkpoints.save("c", "a", position)).toBe(true)
        const row = Option.getOrThrow(yield* checkpoints.get("c"))
        expect(Position.toString(row.position), Position.toString(position)).toBe(expected)
      }
      expect(yield* checkpoints.save("c", "b", at(11n, 0n))).toBe(false)
    }))
})

describe("Consumer on the memory store", () => {
  it.live("handles every event in log order, saving its checkpoint after each, and resumes after it", () =>
    Effect.gen(function*() {
      yield* appendEvents("a-1", 3)
      yield* appendEvents("b-1", 2)
      const seen: Array<Event.RecordedEvent> = []
      const fiber = yield* Effect.fork(Consumer.run({
        name: "all",
        handle: (event) => Effect.sync(() => seen.push(event))
      }))
      yield* eventually(() => seen.length === 5)
      expect(ids(seen)).toEqual(ids(yield* log))
      expect(yield* positionOf("all")).toEqual(Option.some("5"))

      yield* Fiber.interrupt(fiber)
      const stopped = yield* Consumer.checkpoint("all")
      expect(Option.map(stopped, (row) => row.owner)).toEqual(Option.some(undefined))

      yield* appendEvents("a-1", 2)
      const resumed: Array<Event.RecordedEvent> = []
      const again = yield* Effect.fork(Consumer.run({
        name: "all",
        handle: (event) => Effect.sync(() => resumed.push(event))
      }))
      yield* eventually(() => resumed.length === 2)
      yield* Effect.sleep("30 millis")
      expect(resumed.map((event) => Position.toString(event.position))).toEqual(["6", "7"])
      yield* Fiber.interrupt(again)
    }).pipe(Effect.provide(layer())))

  it.live("a failing handler is retried on the same event, then stops the consumer there with HandlerFailed", () =>
    Effect.gen(function*() {
      yield* appendEvents("a-1", 5)
      const events = yield* log
      const attempts = new Map<string, number>()
      const handled: Array<string> = []
      const exit = yield* Effect.exit(Consumer.run({
        name: "fragile",
        retry: Schedule.recurs(2),
        handle: (event) =>
          Effect.suspend(() => {
            attempts.set(event.id, (attempts.get(event.id) ?? 0) + 1)
            return event.version === 3
              ? Effect.fail(`cannot handle ${event.id}`)
              : Effect.sync(() => handled.push(event.id))
          })
      }))
      expect(Exit.isFailure(exit)).toBe(true)
      const error = Cause.squash((exit as Exit.Failure<never, unknown>).cause)
      expect(Consumer.isHandlerFailed(error)).toBe(true)
      const failed = error as Consumer.HandlerFailed
      expect(failed).toMatchObject({
        consumer: "fragile",
        eventId: events[2]!.id,
        streamId: "a-1",
        version: 3,
        type: "Happened",
        attempts: 3,
        cause: `cannot handle ${events[2]!.id}`
      })
      expect(Position.toString(failed.position)).toBe("3")
      expect(failed.message).toContain("position 3")
      expect(attempts.get(events[2]!.id)).toBe(3)
      // Nothing after the failing event was handled, and the checkpoint stays before it.
      expect(handled).toEqual(ids(events.slice(0, 2)))
      expect(yield* positionOf("fragile")).toEqual(Option.some("2"))
      // The lease was released on the way out.
      expect(Option.map(yield* Consumer.checkpoint("fragile"), (row) => row.owner)).toEqual(Option.some(undefined))

      // The next run starts with the event that failed.
      const next: Array<string> = []
      const fiber = yield* Effect.fork(Consumer.run({
        name: "fragile",
        handle: (event) => Effect.sync(() => next.push(event.id))
      }))
      yield* eventually(() => next.length === 3)
      expect(next).toEqual(ids(events.slice(2)))
      yield* Fiber.interrupt(fiber)
    }).pipe(Effect.provide(layer())))

  it.live("a handler that fails a few times and then succeeds handles every event once, in order", () =>
    Effect.gen(function*() {
      yield* appendEvents("a-1", 6)
      const failures = new Map<string, number>()
      const handled: Array<string> = []
      const fiber = yield* Effect.fork(Consumer.run({
        name: "flaky",
        retry: Schedule.recurs(3),
        handle: (event) =>
          Effect.suspend(() => {
            const failed = failures.get(event.id) ?? 0
            if (event.version % 2 === 0 && failed < 2) {
              failures.set(event.id, failed + 1)
              return Effect.fail("not yet")
            }
            return Effect.sync(() => handled.push(event.id))
          })
      }))
      yield* eventually(() => handled.length === 6)
      expect(handled).toEqual(ids(yield* log))
      yield* Fiber.interrupt(fiber)
    }).pipe(Effect.provide(layer())))

  it.live("a handler that dies is not retried: HandlerFailed at once, with the defect", () =>
    Effect.gen(function*() {
      yield* appendEvents("a-1", 2)
      let attempts = 0
      const error = yield* Effect.flip(Consumer.run({
        name: "dying",
        retry: Schedule.recurs(5),
        handle: () => Effect.suspend(() => (attempts++, Effect.die(new Error("boom"))))
      }))
      expect(error).toMatchObject({ _tag: "HandlerFailed", attempts: 1, version: 1 })
      expect(((error as Consumer.HandlerFailed).cause as Error).message).toBe("boom")
      expect(attempts).toBe(1)
      expect(yield* positionOf("dying")).toEqual(Option.some("0"))
    }).pipe(Effect.provide(layer())))

  it.live("the filter chooses the events; startAfter is where a new consumer starts", () =>
    Effect.gen(function*() {
      yield* appendEvents("a-1", 2, "Kept")
      yield* appendEvents("b-1", 2, "Kept")
      yield* appendEvents("a-1", 2, "Dropped")
      const events = yield* log
      const seen: Array<Event.RecordedEvent> = []
      const fiber = yield* Effect.fork(Consumer.run({
        name: "filtered",
        filter: { categories: ["a"], types: ["Kept"] },
        startAfter: events[0]!.position,
        handle: (event) => Effect.sync(() => seen.push(event))
      }))
      yield* appendEvents("a-1", 1, "Kept")
      yield* eventually(() => seen.length === 2)
      yield* Effect.sleep("30 millis")
      expect(seen.map((event) => Position.toString(event.position))).toEqual(["2", "7"])
      yield* Fiber.interrupt(fiber)
    }).pipe(Effect.provide(layer())))

  it.live("checkpointEvery saves after n events; events handled since are saved when the consumer stops", () =>
    Effect.gen(function*() {
      const checkpoints = yield* Checkpoints.makeMemory()
      const saves: Array<string> = []
      const counting = Layer.succeed(Checkpoints.Checkpoints, {
        ...checkpoints,
        save: (consumer, owner, position) =>
          Effect.tap(checkpoints.save(consumer, owner, position), () => saves.push(Position.toString(position)))
      })
      const run = Effect.gen(function*() {
        yield* appendEvents("a-1", 7)
        let handled = 0
        const fiber = yield* Effect.fork(Consumer.run({
          name: "batched",
          checkpointEvery: { events: 3, within: "1 hour" },
          handle: () => Effect.sync(() => handled++)
        }))
        yield* eventually(() => handled === 7 && saves.length === 2)
        yield* Effect.sleep("30 millis")
        expect(saves).toEqual(["3", "6"])
        yield* Fiber.interrupt(fiber)
        expect(saves).toEqual(["3", "6", "7"])
      })
      yield* run.pipe(Effect.provide(Layer.merge(EventStore.layerMemory(), counting)))
    }))

  it.live("checkpointEvery.within saves a short group after its time", () =>
    Effect.gen(function*() {
      yield* appendEvents("a-1", 2)
      let handled = 0
      const fiber = yield* Effect.fork(Consumer.run({
        name: "timed",
        checkpointEvery: { events: 100, within: "20 millis" },
        handle: () => Effect.sync(() => handled++)
      }))
      yield* eventually(() => handled === 2)
      yield* Effect.flatMap(positionOf("timed"), (position) =>
        Option.getOrUndefined(position) === "2" ? Effect.void : Effect.fail("not yet")).pipe(
          Effect.retry(Schedule.spaced("5 millis").pipe(Schedule.upTo("2 seconds")))
        )
      yield* Fiber.interrupt(fiber)
    }).pipe(Effect.provide(layer())))
})

describe("Consumer leases on the memory store", () => {
  const lease = { lease: "300 millis", heartbeat: "50 millis" } as const

  it.live("two consumers with one name: one handles, the other waits and takes over when the first stops", () =>
    Effect.gen(function*() {
      const handledBy: Array<{ readonly owner: string; readonly id: string }> = []
      const start = (owner: string) =>
        Effect.fork(Consumer.run({
          ...lease,
          name: "shared",
          owner,
          waitForLease: Schedule.spaced("20 millis"),
          handle: (event) => Effect.sync(() => handledBy.push({ owner, id: event.id }))
        }))
      const first = yield* start("first")
      yield* Effect.sleep("30 millis")
      expect(Option.map(yield* Consumer.checkpoint("shared"), (row) => row.owner)).toEqual(Option.some("first"))
      const second = yield* start("second")
      for (let i = 0; i < 20; i++) {
        yield* appendEvents("a-1", 1)
        yield* Effect.sleep("5 millis")
      }
      yield* eventually(() => handledBy.length === 20)
      expect(new Set(handledBy.map((entry) => entry.owner))).toEqual(new Set(["first"]))

      yield* Fiber.interrupt(first)
      for (let i = 0; i < 10; i++) yield* appendEvents("a-1", 1)
      yield* eventually(() => handledBy.length === 30)
      expect(handledBy.slice(20).map((entry) => entry.owner)).toEqual(Array(10).fill("second"))
      // No event was handled twice: the first saved and released before the second took over.
      expect(new Set(handledBy.map((entry) => entry.id)).size).toBe(30)
      expect(handledBy.map((entry) => entry.id)).toEqual(ids(yield* log))
      yield* Fiber.interrupt(second)
    }).pipe(Effect.provide(layer())))

  it.live("a holder that dies without releasing blocks the name until its lease expires, then another takes over", () =>
    Effect.gen(function*() {
      const checkpoints = yield* Checkpoints.Checkpoints
      yield* appendEvents("a-1", 3)
      const taken = yield* checkpoints.acquire({
        consumer: "orphaned",
        owner: "dead",
        leaseMillis: 300,
        startAfter: Position.start
      })
      expect(Option.isSome(taken)).toBe(true)
      const startedAt = Date.now()
      let firstHandledAt: number | undefined
      let handled = 0
      const fiber = yield* Effect.fork(Consumer.run({
        ...lease,
        name: "orphaned",
        owner: "heir",
        waitForLease: Schedule.spaced("10 millis"),
        handle: () => Effect.sync(() => (firstHandledAt ??= Date.now(), handled++))
      }))
      yield* eventually(() => handled === 3)
      expect(firstHandledAt! - startedAt).toBeGreaterThanOrEqual(290)
      expect(Option.map(yield* Consumer.checkpoint("orphaned"), (row) => row.owner)).toEqual(Option.some("heir"))
      yield* Fiber.interrupt(fiber)
    }).pipe(Effect.provide(layer())))

  it.live("waitForLease ending is LeaseUnavailable naming the holder", () =>
    Effect.gen(function*() {
      const checkpoints = yield* Checkpoints.Checkpoints
      yield* checkpoints.acquire({ consumer: "busy", owner: "holder", leaseMillis: 60_000, startAfter: Position.start })
      const error = yield* Effect.flip(Consumer.run({
        ...lease,
        name: "busy",
        owner: "hopeful",
        waitForLease: Schedule.recurs(2),
        handle: () => Effect.void
      }))
      expect(Consumer.isLeaseUnavailable(error)).toBe(true)
      expect(error).toMatchObject({ consumer: "busy", owner: "hopeful", holder: "holder" })
    }).pipe(Effect.provide(layer())))

  it.live("a renewal that finds another owner stops the consumer with LeaseLost, interrupting its handler", () =>
    Effect.gen(function*() {
      const checkpoints = yield* Checkpoints.makeMemory()
      let stolen = false
      const thieving = Layer.succeed(Checkpoints.Checkpoints, {
        ...checkpoints,
        renew: (consumer, owner, leaseMillis) =>
          stolen ? Effect.succeed(false) : checkpoints.renew(consumer, owner, leaseMillis)
      })
      let interrupted = false
      const error = yield* Effect.gen(function*() {
        yield* appendEvents("a-1", 1)
        return yield* Effect.flip(Consumer.run({
          ...lease,
          name: "robbed",
          handle: () =>
            Effect.sync(() => (stolen = true)).pipe(
              Effect.zipRight(Effect.never),
              Effect.onInterrupt(() => Effect.sync(() => (interrupted = true)))
            )
        }))
      }).pipe(Effect.provide(Layer.merge(EventStore.layerMemory(), thieving)))
      expect(error).toMatchObject({ _tag: "LeaseLost", consumer: "robbed", reason: "taken" })
      expect(interrupted).toBe(true)
    }))

  it.live("renewals that never answer stop the holder, interrupting its handler, before its lease could end", () =>
    Effect.gen(function*() {
      const checkpoints = yield* Checkpoints.makeMemory()
      let leaseEnd = 0
      const silent = Layer.succeed(Checkpoints.Checkpoints, {
        ...checkpoints,
        acquire: (request) => Effect.tap(checkpoints.acquire(request), () => (leaseEnd = Date.now() + 1_000)),
        renew: () => Effect.never
      })
      let interruptedAt = 0
      const error = yield* Effect.gen(function*() {
        yield* appendEvents("a-1", 1)
        return yield* Effect.flip(Consumer.run({
          lease: "1 second",
          heartbeat: "100 millis",
          name: "cut-off",
          handle: () => Effect.onInterrupt(Effect.never, () => Effect.sync(() => (interruptedAt = Date.now())))
        }))
      }).pipe(Effect.provide(Layer.merge(EventStore.layerMemory(), silent)))
      expect(error).toMatchObject({ _tag: "LeaseLost", reason: "lapsed" })
      // It stops a fifth of the lease before the lease's end (in the store's clock, which here is this one).
      expect(interruptedAt).toBeGreaterThan(0)
      expect(interruptedAt).toBeLessThan(leaseEnd)
      expect(interruptedAt).toBeGreaterThanOrEqual(leaseEnd - 1_000 + 750)
    }))

  it.live("a fenced save that finds another owner stops the consumer with LeaseLost and saves nothing", () =>
    Effect.gen(function*() {
      const checkpoints = yield* Checkpoints.Checkpoints
      yield* appendEvents("a-1", 2)
      let handled = 0
      const error = yield* Effect.flip(Consumer.run({
        ...lease,
        name: "fenced",
        owner: "old",
        handle: () =>
          Effect.suspend(() => {
            handled++
            // Another owner takes the lease while the first handles (as after a pause longer than the lease).
            return checkpoints.release("fenced", "old").pipe(
              Effect.zipRight(checkpoints.acquire({
                consumer: "fenced",
                owner: "new",
                leaseMillis: 60_000,
                startAfter: Position.start
              }))
            )
          })
      }))
      expect(error).toMatchObject({ _tag: "LeaseLost", owner: "old", reason: "taken" })
      expect(handled).toBe(1)
      const row = Option.getOrThrow(yield* Consumer.checkpoint("fenced"))
      expect({ owner: row.owner, position: Position.toString(row.position) }).toEqual({ owner: "new", position: "0" })
    }).pipe(Effect.provide(layer())))
})

describe("Consumer options and errors", () => {
  it.effect("options out of range fail with InvalidOptions naming the option, and nothing is taken", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [string, Omit<Consumer.Options<never, never>, "handle">]> = [
        ["name", { name: "" }],
        ["name", { name: 7 as unknown as string }],
        ["heartbeat", { name: "x", lease: "100 millis", heartbeat: "60 millis" }],
        ["checkpointEvery.events", { name: "x", checkpointEvery: { events: 0 } }],
        ["lease", { name: "x", lease: "0 millis" }],
        ["startAfter", { name: "x", startAfter: "5" as unknown as Position.Position }]
      ]
      for (const [option, options] of cases) {
        const error = yield* Effect.flip(Consumer.run({ ...options, handle: () => Effect.void }))
        expect(Consumer.isInvalidOptions(error), JSON.stringify(options)).toBe(true)
        expect((error as Consumer.InvalidOptions).option).toBe(option)
      }
      expect(yield* Consumer.checkpoint("x")).toEqual(Option.none())
    }).pipe(Effect.provide(layer())))

  it("the errors have guards that recognise instances only, and survive their Schema", () => {
    const errors = [
      new Consumer.HandlerFailed({
        consumer: "c",
        eventId: "e" as Event.EventId,
        streamId: StreamId.make("a-1"),
        version: 1 as never,
        type: "T",
        position: Position.make({ commit: 7n, sequence: 3n }),
        attempts: 2,
        cause: new Error("x")
      }),
      new Consumer.LeaseLost({ consumer: "c", owner: "o", reason: "lapsed" }),
      new Consumer.LeaseUnavailable({ consumer: "c", owner: "o", holder: "h" })
    ] as const
    const guards = [Consumer.isHandlerFailed, Consumer.isLeaseLost, Consumer.isLeaseUnavailable]
    errors.forEach((error, i) => {
      guards.forEach((guard, j) => expect(guard(error)).toBe(i === j))
      expect(guards[i]!({ ...error })).toBe(false)
      expect(Consumer.isConsumerError(error)).toBe(true)
      const schema = error.constructor as unknown as Schema.Schema<unknown, unknown>
      expect(guards[i]!(Schema.decodeUnknownSync(schema)(Schema.encodeSync(schema)(error)))).toBe(true)
    })
    expect(Schema.encodeSync(Consumer.HandlerFailed)(errors[0])).toMatchObject({ position: "7.3" })
  })
})
