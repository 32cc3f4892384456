// What the read-side topics share: fresh categories and types (the suite's store is shared, so each test reads only
// what it wrote), subscribers that record what they are delivered in the background, and deadlines on every wait.
import type { EventStore } from "@concord/core"
import { type Event, ExpectedVersion, Position, StreamId } from "@concord/core"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import * as TestServices from "effect/TestServices"
import { describeEvent } from "../readAudit.js"
import { event } from "./fixtures.js"

let names = 0

/** A word no other test uses, without `-`: a category of its own, or the stem of event types of its own. */
export const freshName = (label: string): string =>
  `${label}${(names++).toString(36)}x${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`

/** A stream of the category: `<category>-<suffix>`. */
export const streamOf = (category: string, suffix: string | number): StreamId.StreamId =>
  StreamId.make(`${category}-${suffix}`)

/**
 * Runs a test body on the live clock: the suite's tests get the TestClock, under which no deadline would pass and
 * no store's poll interval elapse.
 */
export const live = <A, E, R>(body: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => TestServices.provideLive(body)

/** The global log as `readAll` returns it. */
export const globalLog = (store: EventStore.Service, options?: EventStore.ReadAllOptions) =>
  Effect.map(Stream.runCollect(store.readAll(options)), Chunk.toReadonlyArray)

/** Appends `types.length` events one append each, in order, to the streams in turn; returns them as read back. */
export const appendInTurn = (
  store: EventStore.Service,
  streams: ReadonlyArray<StreamId.StreamId>,
  types: ReadonlyArray<string>
) =>
  Effect.forEach(
    types,
    (type, i) => store.append(streams[i % streams.length]!, ExpectedVersion.any, [event(type, { i })]),
    { discard: true }
  )

const deadline = Duration.seconds(30)

/** Fails with `what()` unless `done()` holds within the deadline (checked every few milliseconds). */
export const waitUntil = (
  done: () => boolean,
  what: () => string,
  within: Duration.DurationInput = deadline
): Effect.Effect<void, Error> =>
  Effect.suspend(() => done() ? Effect.void : Effect.sleep("5 millis")).pipe(
    Effect.repeat({ until: done }),
    Effect.asVoid,
    Effect.timeoutFail({
      duration: within,
      onTimeout: () => new Error(`${what()} (waited ${Duration.format(Duration.decode(within))})`)
    })
  )

/** A subscription running in the background, recording every event it is delivered. */
export interface Follower {
  readonly label: string
  /** What it was delivered so far, in order. */
  readonly delivered: ReadonlyArray<Event.RecordedEvent>
  /** Waits until it was delivered at least `count` events, failing clearly at the deadline or if it ended. */
  readonly awaitCount: (count: number, within?: Duration.DurationInput) => Effect.Effect<void, Error>
  /** Waits until it was delivered an event at or after `position`. */
  readonly awaitPosition: (position: Position.Position, within?: Duration.DurationInput) => Effect.Effect<void, Error>
  /** Interrupts it, failing if it does not end within a few seconds. */
  readonly stop: Effect.Effect<void, Error>
}

/** Starts following `store.subscribe(options)` in the background. */
export const follow = (
  store: EventStore.Service,
  label: string,
  options?: EventStore.SubscribeOptions
): Effect.Effect<Follower> =>
  Effect.gen(function*() {
    const delivered: Array<Event.RecordedEvent> = []
    const fiber = yield* Effect.forkDaemon(
      Stream.runForEach(store.subscribe(options), (event) => Effect.sync(() => delivered.push(event)))
    )
    // A subscription that ended (it never does on its own) fails the wait at once, with its reason.
    const ended = () => {
      const exit = fiber.unsafePoll()
      return exit === null ? undefined : Exit.isSuccess(exit) ? "ended" : `failed: ${String(Exit.causeOption(exit))}`
    }
    const last = () => delivered.length === 0 ? "nothing" : describeEvent(delivered[delivered.length - 1]!)
    const awaitUntil = (reached: () => boolean, wanted: string, within?: Duration.DurationInput) =>
      Effect.flatMap(
        waitUntil(
          () => reached() || ended() !== undefined,
          () => `${label} wanted ${wanted} but was delivered ${delivered.length} (the last: ${last()})`,
          within
        ),
        () => {
          const why = reached() ? undefined : ended()
          return why === undefined ? Effect.void : Effect.fail(new Error(`${label}'s subscription ${why}`))
        }
      )
    return {
      label,
      delivered,
      awaitCount: (count, within) => awaitUntil(() => delivered.length >= count, `${count} events`, within),
      awaitPosition: (position, within) =>
        awaitUntil(
          () => delivered.length > 0 && !Position.isAfter(position, delivered[delivered.length - 1]!.position),
          `to reach position ${Position.toString(position)}`,
          within
        ),
      stop: stopWithin(fiber, label)
    }
  })

/** Interrupts a fiber, failing if it has not ended within five seconds: a subscription must let go at once. */
export const stopWithin = <A, E>(fiber: Fiber.Fiber<A, E>, label: string): Effect.Effect<void, Error> =>
  Fiber.interrupt(fiber).pipe(
    Effect.asVoid,
    Effect.timeoutFail({
      duration: "5 seconds",
      onTimeout: () => new Error(`${label} did not end within 5 seconds of being interrupted`)
    })
  )

/** The first `count` events of a stream, failing at the deadline with how many came. */
export const takeWithin = <E>(
  stream: Stream.Stream<Event.RecordedEvent, E>,
  count: number,
  label: string,
  within: Duration.DurationInput = deadline
): Effect.Effect<ReadonlyArray<Event.RecordedEvent>, E | Error> => {
  const got: Array<Event.RecordedEvent> = []
  return Stream.runForEach(Stream.take(stream, count), (event) => Effect.sync(() => got.push(event))).pipe(
    Effect.timeoutFail({
      duration: within,
      onTimeout: () => new Error(`${label} wanted ${count} events but got ${got.length} in time`)
    }),
    Effect.as(got)
  )
}

/** The ids of some events, to compare deliveries by identity and order. */
export const ids = (events: ReadonlyArray<Event.RecordedEvent>): ReadonlyArray<string> => events.map((e) => e.id)

/** An event as every read must agree on it: what it is and where, the position in its string form. */
export const essence = (event: Event.RecordedEvent) => ({
  id: event.id,
  streamId: event.streamId,
  version: event.version,
  type: event.type,
  data: event.data,
  metadata: event.metadata,
  recordedAt: event.recordedAt.getTime(),
  position: Position.toString(event.position)
})
