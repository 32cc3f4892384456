import {
  type Event,
  EventStore,
  EventStoreError,
  ExpectedVersion,
  Position,
  StoreBackend,
  StreamId,
  StreamVersion
} from "@concord/core"
import { Checker } from "@concord/testing"
import { describe, expect, it } from "@effect/vitest"
import { Chunk, type Duration, Effect, Exit, FastCheck as fc, Fiber, Scope, Stream, TestServices } from "effect"

const noted = (n: number) => ({ type: "Noted", data: { n } })
const collect = <E>(stream: Stream.Stream<Event.RecordedEvent, E>) =>
  Effect.map(Stream.runCollect(stream), Chunk.toArray)
const live = TestServices.provideLive

/** A hand-made log for the shared read rule: events at positions 1..n (commit 0), its pages recorded. */
const handLog = (
  options?: {
    readonly pollInterval?: Duration.DurationInput
    readonly through?: "end"
    /** How long a read takes after it has seen the log: commits during it are not in its page. */
    readonly readDelay?: Duration.DurationInput
  }
) => {
  const events: Array<Event.RecordedEvent> = []
  const reads: Array<{ readonly after: string; readonly limit: number }> = []
  const signal = StoreBackend.makeCommitSignal()
  let beforeRead: (() => void) | undefined
  const push = (count: number, notify = true) => {
    for (let i = 0; i < count; i++) {
      const sequence = events.length + 1
      events.push({
        id: `e${sequence}` as Event.EventId,
        streamId: StreamId.make(`hand-${sequence % 3}`),
        version: StreamVersion.make(Math.floor((sequence - 1) / 3) + 1),
        type: sequence % 2 === 0 ? "Even" : "Odd",
        data: {},
        metadata: {},
        recordedAt: new Date(0),
        position: Position.make({ sequence: BigInt(sequence) })
      })
    }
    if (notify) signal.notify()
  }
  const log: StoreBackend.LiveLog = {
    readAfter: (after, limit, filter) =>
      Effect.sync(() => {
        reads.push({ after: Position.toString(after), limit })
        const page: Array<Event.RecordedEvent> = []
        let index = Number(after.sequence)
        for (; index < events.length && page.length < limit; index++) {
          if (EventStore.matches(events[index]!, filter)) page.push(events[index]!)
        }
        const run = beforeRead
        beforeRead = undefined
        run?.()
        const through = options?.through === "end" || index > Number(after.sequence)
          ? Position.max(after, events[index - 1]?.position ?? after)
          : after
        return { events: page, through }
      }).pipe(Effect.tap(() => options?.readDelay === undefined ? Effect.void : Effect.sleep(options.readDelay))),
    end: Effect.sync(() => events[events.length - 1]?.position ?? Position.start),
    signal,
    pollInterval: options?.pollInterval
  }
  return { log, events, reads, push, signal, onNextRead: (f: () => void) => beforeRead = f }
}

describe("the shared read rule (StoreBackend.readAll and subscribe)", () => {
  it.effect("readAll reads in pages of 1,000 as it is pulled, and stops at a short page", () =>
    Effect.gen(function*() {
      const hand = handLog()
      hand.push(2_500)
      expect((yield* collect(StoreBackend.readAll(hand.log))).length).toBe(2_500)
      expect(hand.reads).toEqual([
        { after: "0", limit: 1_000 },
        { after: "1000", limit: 1_000 },
        { after: "2000", limit: 1_000 }
      ])
      hand.reads.length = 0
      const limited = yield* collect(
        StoreBackend.readAll(hand.log, { limit: 1_500, after: Position.make({ sequence: 10n }) })
      )
      expect(limited.map((e) => e.id)).toEqual(hand.events.slice(10, 1_510).map((e) => e.id))
      expect(hand.reads).toEqual([{ after: "10", limit: 1_000 }, { after: "1010", limit: 500 }])
      hand.reads.length = 0
      expect(yield* collect(StoreBackend.readAll(hand.log, { limit: 0 }))).toEqual([])
      expect(hand.reads).toEqual([])
      // Only what is pulled is read.
      yield* collect(Stream.take(StoreBackend.readAll(hand.log), 10))
      expect(hand.reads).toEqual([{ after: "0", limit: 1_000 }])
    }))

  it.effect("a commit during a subscriber's read wakes it: the mark comes before the read", () =>
    live(Effect.gen(function*() {
      const hand = handLog()
      hand.push(2)
      const fiber = yield* Effect.fork(collect(Stream.take(StoreBackend.subscribe(hand.log), 3)))
      // The first read finds 2; the second finds nothing, and during it a third event is committed and notified.
      yield* Effect.sleep("20 millis")
      expect(hand.reads.length).toBeGreaterThanOrEqual(2)
      hand.onNextRead(() => hand.push(1))
      hand.push(0) // wakes it for the read that commits
      const got = yield* Fiber.join(fiber).pipe(
        Effect.timeoutFail({ duration: "2 seconds", onTimeout: () => "missed" })
      )
      expect(got.map((e) => e.id)).toEqual(["e1", "e2", "e3"])
    })))

  it.effect("subscribers at the same place share one read per commit, and each gets every event", () =>
    live(Effect.gen(function*() {
      const hand = handLog()
      const subscribers = 200
      let delivered = 0
      const fibers = yield* Effect.forEach(
        Array.from({ length: subscribers }),
        () =>
          Effect.fork(collect(Stream.take(
            StoreBackend.subscribe(hand.log).pipe(Stream.tap(() => Effect.sync(() => delivered++))),
            3
          )))
      )
      // Every subscriber has read the empty log and waits: 30 ms pass without a read.
      yield* Effect.suspend(() => {
        const before = hand.reads.length
        return Effect.map(Effect.sleep("30 millis"), () => hand.reads.length === before)
      }).pipe(
        Effect.repeat({ until: (quiet) => quiet }),
        Effect.timeoutFail({ duration: "5 seconds", onTimeout: () => "never settled" })
      )
      hand.reads.length = 0
      hand.push(1)
      yield* Effect.sleep("5 millis").pipe(
        Effect.repeat({ until: () => delivered === subscribers }),
        Effect.timeoutFail({ duration: "5 seconds", onTimeout: () => `${delivered} of ${subscribers} got e1` })
      )
      // One commit: the subscribers waiting at the end share the read of what it added (a read per subscriber
      // would be 200).
      expect(hand.reads.filter((read) => read.after === "0").length).toBeLessThanOrEqual(2)
      hand.push(2)
      const got = yield* Effect.forEach(fibers, Fiber.join).pipe(
        Effect.timeoutFail({ duration: "5 seconds", onTimeout: () => "missed" })
      )
      for (const events of got) expect(events.map((e) => e.id)).toEqual(["e1", "e2", "e3"])
      expect(hand.reads.length).toBeLessThan(20)
    })))

  it.effect("a subscriber that leaves in the middle of a shared read takes nothing from the others", () =>
    live(Effect.gen(function*() {
      const hand = handLog()
      const staying = yield* Effect.fork(collect(Stream.take(StoreBackend.subscribe(hand.log), 2)))
      const leaving = yield* Effect.fork(collect(Stream.take(StoreBackend.subscribe(hand.log), 2)))
      yield* Effect.sleep("20 millis")
      // The next read is shared by both; the one leaving is interrupted while it runs.
      hand.onNextRead(() => Effect.runFork(Fiber.interrupt(leaving)))
      hand.push(2)
      const got = yield* Fiber.join(staying).pipe(
        Effect.timeoutFail({ duration: "2 seconds", onTimeout: () => "missed" })
      )
      expect(got.map((e) => e.id)).toEqual(["e1", "e2"])
    })))

  it.effect("a subscriber never joins a read that started before it marked: a commit in between reaches it", () =>
    live(Effect.gen(function*() {
      const hand = handLog({ readDelay: "150 millis" })
      hand.push(2)
      const after = Position.make({ sequence: 2n })
      const first = yield* Effect.fork(collect(Stream.take(StoreBackend.subscribe(hand.log, { after }), 1)))
      yield* Effect.sleep("400 millis")
      // The first subscriber's next read sees nothing; while it runs, a third event is committed and notified.
      hand.onNextRead(() => hand.push(1))
      hand.push(0)
      yield* Effect.sleep("30 millis")
      // The second asks for the same page after that notification: the read in flight cannot have seen the commit.
      const second = yield* Effect.fork(collect(Stream.take(StoreBackend.subscribe(hand.log, { after }), 1)))
      const got = yield* Effect.all([Fiber.join(first), Fiber.join(second)]).pipe(
        Effect.timeoutFail({ duration: "3 seconds", onTimeout: () => "missed" })
      )
      expect(got.map((events) => events.map((e) => e.id))).toEqual([["e3"], ["e3"]])
    })))

  it.effect("a subscriber without a signal finds commits by its poll interval", () =>
    live(Effect.gen(function*() {
      const hand = handLog({ pollInterval: "10 millis" })
      const fiber = yield* Effect.fork(collect(Stream.take(StoreBackend.subscribe(hand.log), 4)))
      yield* Effect.sleep("30 millis")
      hand.push(4, false) // committed elsewhere: no notification
      const got = yield* Fiber.join(fiber).pipe(
        Effect.timeoutFail({ duration: "2 seconds", onTimeout: () => "missed" })
      )
      expect(got.map((e) => e.id)).toEqual(["e1", "e2", "e3", "e4"])
    })))

  it.effect("a filtered subscriber goes on after the page's `through`, not rereading what it skipped", () =>
    live(Effect.gen(function*() {
      const hand = handLog({ through: "end" })
      hand.push(3_000)
      const fiber = yield* Effect.fork(
        collect(Stream.take(StoreBackend.subscribe(hand.log, { filter: { types: ["None"] } }), 1))
      )
      yield* Effect.sleep("30 millis")
      expect(hand.reads.slice(0, 2)).toEqual([{ after: "0", limit: 1_000 }, { after: "3000", limit: 1_000 }])
      yield* Fiber.interrupt(fiber)
    })))

  it.effect("subscribe from \"end\" starts after the log's end as it was when the stream started", () =>
    live(Effect.gen(function*() {
      const hand = handLog()
      hand.push(5)
      const subscription = StoreBackend.subscribe(hand.log, { after: "end" })
      hand.push(2) // before the stream runs: part of the end it reads
      const fiber = yield* Effect.fork(collect(Stream.take(subscription, 2)))
      yield* Effect.sleep("20 millis")
      hand.push(2)
      const got = yield* Fiber.join(fiber).pipe(
        Effect.timeoutFail({ duration: "2 seconds", onTimeout: () => "missed" })
      )
      expect(got.map((e) => e.id)).toEqual(["e8", "e9"])
    })))

  it.effect("invalid options are refused before the log is read, naming what is wrong", () =>
    Effect.gen(function*() {
      const hand = handLog()
      const cases: ReadonlyArray<readonly [unknown, string, "readAll" | "subscribe" | "both"]> = [
        ["x", "the options must be an object", "both"],
        [null, "the options must be an object", "both"],
        [{ after: "5" }, "after must be a Position", "readAll"],
        [{ after: "5" }, "after must be a Position or \"end\"", "subscribe"],
        [{ after: "end" }, "after must be a Position", "readAll"],
        [{ after: { commit: 0n, sequence: 1n } }, "after must be a Position", "readAll"],
        [{ limit: "5" }, "limit must be a number", "readAll"],
        [{ limit: 5n }, "limit must be a number", "readAll"],
        [{ filter: "x" }, "filter must be an object", "both"],
        [{ filter: ["x"] }, "filter must be an object", "both"],
        [{ filter: { types: "Noted" } }, "filter.types must be an array of strings", "both"],
        [{ filter: { types: [1] } }, "filter.types must be an array of strings", "both"],
        [{ filter: { categories: [undefined] } }, "filter.categories must be an array of strings", "both"]
      ]
      for (const [options, reason, operations] of cases) {
        for (const operation of operations === "both" ? ["readAll", "subscribe"] as const : [operations]) {
          const stream = operation === "readAll"
            ? StoreBackend.readAll(hand.log, options as EventStore.ReadAllOptions)
            : StoreBackend.subscribe(hand.log, options as EventStore.SubscribeOptions)
          const error = yield* Effect.flip(Stream.runCollect(stream))
          expect(EventStoreError.isInvalidArgument(error)).toBe(true)
          expect(error).toMatchObject({ _tag: "InvalidArgument", operation, reason })
          expect(error.message).toBe(
            `cannot ${operation === "readAll" ? "read" : "subscribe to"} the global log: ${reason}`
          )
        }
      }
      expect(hand.reads).toEqual([])
      // A limit is read as a stream read's, and a subscription takes no limit: neither is refused.
      yield* collect(StoreBackend.readAll(hand.log, { limit: Number.NaN, filter: {} }))
      yield* collect(Stream.take(StoreBackend.subscribe(hand.log, { limit: "x" } as EventStore.SubscribeOptions), 0))
    }))
})

describe("the memory store's global log", () => {
  it.effect("positions are 1, 2, 3… in commit order, commit 0, across streams", () =>
    Effect.gen(function*() {
      const store = yield* EventStore.makeMemory()
      yield* store.append(StreamId.make("a-1"), ExpectedVersion.any, [noted(1), noted(2)])
      yield* store.append(StreamId.make("b-1"), ExpectedVersion.any, [noted(3)])
      yield* store.append(StreamId.make("a-1"), ExpectedVersion.any, [noted(4)])
      const log = yield* collect(store.readAll())
      expect(log.map((e) => Position.toString(e.position))).toEqual(["1", "2", "3", "4"])
      expect(log.map((e) => `${e.streamId}@${e.version}`)).toEqual(["a-1@1", "a-1@2", "b-1@1", "a-1@3"])
      const streams = new Map([
        ["a-1", yield* collect(store.read(StreamId.make("a-1")))],
        ["b-1", yield* collect(store.read(StreamId.make("b-1")))]
      ])
      Checker.assertLog({ log, streams })
    }))

  it.effect("reading or subscribing after a position past the end, or of another commit, finds nothing yet", () =>
    live(Effect.gen(function*() {
      const store = yield* EventStore.makeMemory()
      yield* store.append(StreamId.make("a-1"), ExpectedVersion.any, [noted(1), noted(2)])
      const beyond = [
        Position.make({ sequence: 3n }),
        Position.make({ sequence: 1_000n }),
        Position.make({ sequence: 2n ** 64n - 1n }),
        Position.make({ commit: 1n, sequence: 0n }),
        Position.make({ commit: 2n ** 64n - 1n, sequence: 2n ** 64n - 1n })
      ]
      for (const after of beyond) {
        expect(yield* collect(store.readAll({ after }))).toEqual([])
        const waiting = yield* Effect.fork(collect(Stream.take(store.subscribe({ after }), 1)))
        yield* Effect.sleep("5 millis")
        expect(waiting.unsafePoll()).toBeNull()
        yield* Fiber.interrupt(waiting)
      }
      // A subscriber after a position past the end gets what comes after it, once the log gets there.
      const ahead = yield* Effect.fork(
        collect(Stream.take(store.subscribe({ after: Position.make({ sequence: 3n }) }), 1))
      )
      yield* store.append(StreamId.make("a-1"), ExpectedVersion.any, [noted(3), noted(4)])
      const got = yield* Fiber.join(ahead).pipe(Effect.timeoutFail({ duration: "2 seconds", onTimeout: () => "none" }))
      expect(got.map((e) => e.data)).toEqual([{ n: 4 }])
    })))

  it.effect("a hundred subscribers waiting live on a filter nothing matches: appends go on, and each ends when interrupted", () =>
    live(Effect.gen(function*() {
      const store = yield* EventStore.makeMemory()
      const fibers = yield* Effect.forEach(
        Array.from({ length: 100 }, () => 0),
        () => Effect.fork(Stream.runDrain(store.subscribe({ filter: { categories: ["nothing"] } })))
      )
      yield* Effect.sleep("10 millis")
      for (let i = 0; i < 50; i++) yield* store.append(StreamId.make("a-1"), ExpectedVersion.any, [noted(i)])
      yield* Effect.forEach(fibers, Fiber.interrupt)
      for (const fiber of fibers) expect(Exit.isInterrupted(fiber.unsafePoll()!)).toBe(true)
    })))
})

describe("the memory store's read side under fast-check's scheduler", () => {
  /** Lets every pending callback run: what a released step started, and the step its loop schedules next. */
  const settle = () => new Promise<void>((resolve) => setImmediate(resolve))
  const streams = ["race-1", "race-2", "race-3", "other-1"].map(StreamId.make)
  const filter = { categories: ["race"] }

  const plan = fc.record({
    writers: fc.array(
      fc.array(fc.record({ stream: fc.nat({ max: 3 }), size: fc.integer({ min: 1, max: 3 }) }), {
        minLength: 1,
        maxLength: 5
      }),
      { minLength: 1, maxLength: 3 }
    ),
    stopAfter: fc.integer({ min: 1, max: 20 })
  })

  it("writers and subscribers in any order the scheduler picks: every subscriber sound and complete", async () => {
    // Across all runs, so that the property cannot quietly degenerate into subscribers that never wait live.
    let waitedLive = 0
    let resumedMidway = 0
    const property = fc.asyncProperty(fc.scheduler(), plan, async (s, { stopAfter, writers }) => {
      const store = await Effect.runPromise(EventStore.makeMemory())
      const all = writers.flat()
      const total = all.reduce((n, a) => n + a.size, 0)
      const ours = all.filter((a) => a.stream < 3).reduce((n, a) => n + a.size, 0)
      const step = (label: string) => s.schedule(Promise.resolve(label))
      const writing = writers.map(async (appends, w) => {
        for (const [i, { size, stream }] of appends.entries()) {
          await step(`writer ${w} append ${i}`)
          await Effect.runPromise(
            store.append(streams[stream]!, ExpectedVersion.any, Array.from({ length: size }, () => noted(w)))
          )
        }
      })
      /** A subscriber pulling page by page, each pull a scheduled step, until it has `target` events or `stop`. */
      const subscriber = async (
        label: string,
        options: EventStore.SubscribeOptions,
        target: number,
        delivered: Array<Event.RecordedEvent>,
        stop = Infinity
      ) => {
        const scope = Effect.runSync(Scope.make())
        const pull = await Effect.runPromise(Scope.extend(Stream.toPull(store.subscribe(options)), scope))
        while (delivered.length < Math.min(target, stop)) {
          await step(`${label} pull`)
          const pulled = Effect.runPromise(pull)
          // A pull still pending once everything ready has run is one waiting live for an append.
          if (await Promise.race([pulled.then(() => false), settle().then(() => true)])) waitedLive++
          delivered.push(...await pulled)
        }
        await Effect.runPromise(Scope.close(scope, Exit.void))
      }
      const fromStart: Array<Event.RecordedEvent> = []
      const everything: Array<Event.RecordedEvent> = []
      const resumed: Array<Event.RecordedEvent> = []
      const subscribing = [
        subscriber("from the start", { filter }, ours, fromStart),
        step("join midway").then(() => subscriber("joining midway", {}, total, everything)),
        subscriber("to be resumed", { filter }, ours, resumed, stopAfter).then(async () => {
          if (resumed.length >= ours) return
          if (Effect.runSync(Stream.runCount(store.readAll({ filter }))) < ours) resumedMidway++
          const checkpoint = Position.fromString(Position.toString(resumed[resumed.length - 1]!.position))!
          await subscriber("resumed", { after: checkpoint, filter }, ours, resumed)
        })
      ]
      const done = Promise.all([...writing, ...subscribing])
      let timer: NodeJS.Timeout | undefined
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() =>
          reject(
            new Error(
              `deadline: from the start ${fromStart.length} of ${ours}, midway ${everything.length} of ${total}, ` +
                `resumed ${resumed.length} of ${ours}`
            )
          ), 2_000)
      })
      try {
        await s.waitFor(Promise.race([done, deadline]), async (release) => {
          await release()
          await settle()
        })
      } finally {
        clearTimeout(timer)
      }
      const log = await Effect.runPromise(collect(store.readAll()))
      expect(log.length).toBe(total)
      Checker.assertSubscription({ delivered: fromStart, log, filter }, "the subscriber from the start")
      Checker.assertSubscription({ delivered: everything, log }, "the subscriber joining midway")
      Checker.assertSubscription({ delivered: resumed, log, filter }, "the subscriber interrupted and resumed")
    })
    await fc.assert(property)
    expect(waitedLive).toBeGreaterThan(0)
    expect(resumedMidway).toBeGreaterThan(0)
  }, 120_000)
})
