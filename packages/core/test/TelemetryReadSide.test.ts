import {
  Checkpoints,
  Consumer,
  EventStore,
  ExpectedVersion,
  Position,
  StoreBackend,
  StreamId,
  Telemetry
} from "@concord/core"
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Exit, Fiber, Layer, Metric, Option, Schedule, Scope, Stream, TestClock } from "effect"

// Metrics are global to the process: every test measures what its own subscriptions and consumers changed, and
// closes what it opened.

const open = Effect.map(Metric.value(Telemetry.metrics.subscriptionsOpen), (state) => state.value)
const lag = Effect.map(Metric.value(Telemetry.metrics.subscriptionLag), (state) => state.value)

/** Waits until `check` gives `expected`, for at most 5 s. */
const eventually = <A>(check: Effect.Effect<A>, expected: A) =>
  Effect.repeat(check, {
    until: (value) => value === expected,
    schedule: Schedule.spaced("1 millis")
  }).pipe(Effect.timeout("5 seconds"), Effect.orDie)

/**
 * Lets the other fibers run (on the test clock, where `eventually` would wait forever) until `check` gives
 * `expected`: fails after 1000 turns.
 */
const settled = <A>(check: Effect.Effect<A>, expected: A) =>
  Effect.gen(function*() {
    for (let turn = 0; turn < 1000; turn++) {
      if ((yield* check) === expected) return
      yield* Effect.yieldNow()
    }
    expect(yield* check).toBe(expected)
  })

/** `count` events in `count / 100` appends of 100 to one stream. */
const fill = (store: EventStore.Service, count: number) =>
  Effect.forEach(
    Array.from({ length: count / 100 }, (_, i) => i),
    () =>
      store.append(
        StreamId.make("log-1"),
        ExpectedVersion.any,
        Array.from({ length: 100 }, () => ({ type: "E", data: {} }))
      ),
    { discard: true }
  )

/** A subscription pulled by hand: each pull reads (and delivers) one page. */
const pulled = (store: EventStore.Service, options?: EventStore.SubscribeOptions) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const pull = yield* Scope.extend(Stream.toPull(store.subscribe(options)), scope)
    return { pull: Effect.orDie(pull), close: Scope.close(scope, Exit.void) }
  })

describe("subscription metrics", () => {
  it.live("counts a subscription open from its start to its end, however it ends", () =>
    Effect.gen(function*() {
      const store = yield* EventStore.makeMemory()
      yield* fill(store, 100)
      const before = yield* open
      const first = yield* pulled(store)
      yield* first.pull
      expect(yield* open).toBe(before + 1)
      // One that ends on its own (taken), one that fails (bad options never open), one interrupted while it waits.
      yield* Stream.runDrain(Stream.take(store.subscribe(), 5))
      yield* Effect.flip(Stream.runDrain(store.subscribe({ after: "nowhere" as never })))
      const waiting = yield* Effect.fork(Stream.runDrain(store.subscribe({ after: "end" })))
      yield* eventually(open, before + 2)
      yield* Fiber.interrupt(waiting)
      expect(yield* open).toBe(before + 1)
      yield* first.close
      expect(yield* open).toBe(before)
    }))

  it.live("measures the lag of a subscriber behind the log, and 0 once it caught up and waits", () =>
    Effect.gen(function*() {
      expect(yield* lag).toBe(0)
      const store = yield* EventStore.makeMemory()
      yield* fill(store, 1500)
      const subscription = yield* pulled(store)
      // The first page is full (1000 of 1500): it read from the start, the store's end (sampled) is 1500.
      expect((yield* subscription.pull).length).toBe(1000)
      yield* eventually(lag, 1500)
      // The second is short: what it delivers is all that is left.
      expect((yield* subscription.pull).length).toBe(500)
      expect(yield* lag).toBe(500)
      // Then nothing is left to read: it waits for commits, caught up.
      const waiting = yield* Effect.fork(subscription.pull)
      yield* eventually(lag, 0)
      yield* fill(store, 100)
      expect((yield* Fiber.join(waiting)).length).toBe(100)
      expect(yield* lag).toBe(100)
      yield* subscription.close
      expect(yield* lag).toBe(0)
    }))

  it.live("reports the largest lag among open subscriptions, and forgets a subscription's lag when it ends", () =>
    Effect.gen(function*() {
      const store = yield* EventStore.makeMemory()
      yield* fill(store, 2500)
      const far = yield* pulled(store)
      const near = yield* pulled(store, { after: Position.make({ sequence: 2000n }) })
      yield* far.pull
      yield* eventually(lag, 2500)
      yield* near.pull
      expect(yield* lag).toBe(2500)
      yield* far.pull
      expect(yield* lag).toBe(1500)
      // The one behind ends while behind: the other's lag is what is left.
      yield* far.close
      expect(yield* lag).toBe(500)
      yield* near.close
      expect(yield* lag).toBe(0)
    }))

  it.scoped("shows a subscriber that stopped pulling falling behind as commits come, and 0 once it caught up", () =>
    Effect.gen(function*() {
      const store = yield* EventStore.makeMemory()
      yield* fill(store, 100)
      const stalled = yield* pulled(store)
      expect((yield* stalled.pull).length).toBe(100)
      // The store's end is sampled at once, then every second: the subscriber's own reads say nothing more.
      yield* settled(lag, 100)
      yield* fill(store, 5000)
      expect(yield* lag).toBe(100)
      yield* TestClock.adjust("1 second")
      yield* settled(lag, 5100)
      yield* fill(store, 2000)
      yield* TestClock.adjust("1 second")
      yield* settled(lag, 7100)
      // It pulls again: page by page it catches up, then waits for commits.
      let delivered = 100
      while (delivered < 7100) delivered += (yield* stalled.pull).length
      expect(delivered).toBe(7100)
      const waiting = yield* Effect.fork(stalled.pull)
      yield* settled(lag, 0)
      yield* TestClock.adjust("1 second")
      expect(yield* lag).toBe(0)
      yield* Fiber.interrupt(waiting)
      yield* stalled.close
    }))

  it.scoped("reads a store's end with one sampler, whatever its subscriptions, stopped with the last", () =>
    Effect.gen(function*() {
      let ends = 0
      const log: StoreBackend.LiveLog = {
        readAfter: (after) => Effect.succeed({ events: [], through: after }),
        end: Effect.sync(() => {
          ends++
          return Position.make({ sequence: 10n })
        }),
        signal: StoreBackend.makeCommitSignal()
      }
      const before = yield* open
      const subscribers = yield* Effect.forEach(
        Array.from({ length: 20 }, (_, i) => i),
        () => Effect.fork(Stream.runDrain(StoreBackend.subscribe(log)))
      )
      yield* settled(open, before + 20)
      yield* settled(Effect.sync(() => ends), 1)
      // Each waits at the start of a log whose end is 10: every one is 10 behind.
      yield* settled(lag, 10)
      yield* TestClock.adjust("1 second")
      yield* settled(Effect.sync(() => ends), 2)
      yield* Fiber.interruptAll(subscribers.slice(1))
      yield* TestClock.adjust("1 second")
      yield* settled(Effect.sync(() => ends), 3)
      yield* Fiber.interrupt(subscribers[0]!)
      expect(yield* open).toBe(before)
      expect(yield* lag).toBe(0)
      yield* TestClock.adjust("5 seconds")
      yield* Effect.repeatN(Effect.yieldNow(), 100)
      expect(ends).toBe(3)
    }))

  it.live("counts a subscription made by trackSubscription once, from when its stream starts, with its reads", () =>
    Effect.gen(function*() {
      const store = yield* EventStore.makeMemory()
      yield* fill(store, 3000)
      const before = yield* open
      // A catch-up as the service makes one: the first page read to start, the store's subscription after the rest.
      const events = yield* Telemetry.trackSubscription(Effect.map(
        Stream.runCollect(store.readAll({ limit: 1000 })),
        (first) =>
          Stream.concat(
            Stream.fromChunk(first),
            Stream.suspend(() => store.subscribe({ after: Option.getOrThrow(Chunk.last(first)).position }))
          )
      ))
      // Not started: not open.
      expect(yield* open).toBe(before)
      const scope = yield* Scope.make()
      const pull = Effect.orDie(yield* Scope.extend(Stream.toPull(events), scope))
      expect(Chunk.size(yield* pull)).toBe(1000)
      expect(yield* open).toBe(before + 1)
      // Its first read, made before it started, counts: from the start of a log of 3000.
      yield* eventually(lag, 3000)
      // The store's subscription inside it counts for it, not as another.
      expect(Chunk.size(yield* pull)).toBe(1000)
      expect(yield* open).toBe(before + 1)
      expect(yield* lag).toBe(2000)
      expect(Chunk.size(yield* pull)).toBe(1000)
      const waiting = yield* Effect.fork(pull)
      yield* eventually(lag, 0)
      expect(yield* open).toBe(before + 1)
      yield* Fiber.interrupt(waiting)
      yield* Scope.close(scope, Exit.void)
      expect(yield* open).toBe(before)
      // One that fails to start, or whose stream is never run, counts nothing.
      yield* Effect.flip(Telemetry.trackSubscription(Effect.fail("no")))
      yield* Telemetry.trackSubscription(Effect.succeed(store.subscribe()))
      expect(yield* open).toBe(before)
    }))
})

const checkpointsOf = (consumer: string) =>
  Effect.map(
    Metric.value(Metric.tagged(Telemetry.metrics.consumerCheckpoints, "consumer", consumer)),
    (state) => state.count
  )
const positionOf = (consumer: string) =>
  Effect.map(
    Metric.value(Metric.tagged(Telemetry.metrics.consumerPosition, "consumer", consumer)),
    (state) => state.value
  )

describe("consumer metrics", () => {
  const layer = () => Layer.merge(EventStore.layerMemory(), Checkpoints.layerMemory())

  it.live("counts each checkpoint a consumer stores and shows the position it stored", () =>
    Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      yield* fill(store, 200)
      const consumer = `one-by-one-${Math.random()}`
      const fiber = yield* Effect.fork(Consumer.run({ name: consumer, handle: () => Effect.void }))
      yield* eventually(positionOf(consumer), 200)
      expect(yield* checkpointsOf(consumer)).toBe(200)
      yield* Fiber.interrupt(fiber)
      // Another consumer's series is its own.
      expect(yield* checkpointsOf(`${consumer}-other`)).toBe(0)
    }).pipe(Effect.provide(layer())))

  it.live("counts a transactional consumer's checkpoints once per group it committed", () =>
    Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      yield* fill(store, 200)
      const consumer = `groups-${Math.random()}`
      const fiber = yield* Effect.fork(Consumer.run({
        name: consumer,
        handle: () => Effect.void,
        transactional: true,
        checkpointEvery: { events: 50 }
      }))
      yield* eventually(positionOf(consumer), 200)
      expect(yield* checkpointsOf(consumer)).toBe(4)
      yield* Fiber.interrupt(fiber)
    }).pipe(Effect.provide(layer())))

  it.live("saves what it handled since its last checkpoint when stopped, and shows where it resumes", () =>
    Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      yield* fill(store, 100)
      const consumer = `stopped-${Math.random()}`
      let handled = 0
      const run = Consumer.run({
        name: consumer,
        handle: () => Effect.sync(() => void handled++),
        checkpointEvery: { events: 1000, within: "1 hour" }
      })
      const fiber = yield* Effect.fork(run)
      yield* eventually(Effect.sync(() => handled), 100)
      expect(yield* checkpointsOf(consumer)).toBe(0)
      yield* Fiber.interrupt(fiber)
      expect(yield* checkpointsOf(consumer)).toBe(1)
      expect(yield* positionOf(consumer)).toBe(100)
      expect(Option.map(yield* Consumer.checkpoint(consumer), (row) => Position.toString(row.position)))
        .toEqual(Option.some("100"))
    }).pipe(Effect.provide(layer())))
})
