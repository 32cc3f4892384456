/**
 * Command handling: load a stream, decide, append with the expected version, and on a real conflict optionally
 * catch up on the new events and decide again.
 *
 * @since 0.1.0
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import type * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import { type ConcurrencyConflict, isConcurrencyConflict, WrongExpectedVersion } from "./Conflict.js"
import type { ConflictRegistry } from "./ConflictRegistry.js"
import * as Decider from "./Decider.js"
import type { EventSchema, Metadata, Tagged } from "./Event.js"
import * as EventStore from "./EventStore.js"
import * as ExpectedVersion from "./ExpectedVersion.js"
import { validate } from "./internal/validation.js"
import type * as StreamId from "./StreamId.js"
import * as StreamVersion from "./StreamVersion.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options<Event extends Tagged> {
  readonly schema: EventSchema<Event>
  readonly registry: ConflictRegistry<Event, any>
  /**
   * What the caller decided on, as the stores take it. `ExpectedVersion.exact(n)`, e.g. the version a form was
   * opened at: the command is decided on the state at version n and appended with n as the expected version; a
   * stream that has not reached n fails with `WrongExpectedVersion` before anything is decided. `ExpectedVersion.any`:
   * decided on the current state and appended with no check. Default: the stream's current version, appended as an
   * exact expected version.
   */
  readonly expectedVersion?: ExpectedVersion.ExpectedVersion | undefined
  /**
   * On a real conflict, retry under this schedule: read only the events committed since, fold them in, decide
   * again on the fresh state and append again. Without it a conflict fails at once.
   */
  readonly retry?: Schedule.Schedule<unknown, ConcurrencyConflict> | undefined
  readonly metadata?: Metadata | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Result<Event extends Tagged, State> {
  /** The events appended. */
  readonly events: ReadonlyArray<Event>
  /**
   * The state at the version the append ended at, the same state `load` gives at that version: the events the append
   * went past (its `rebasedOver`, read only then) folded in before the command's own events.
   */
  readonly state: State
  /** What the last append did; its `rebasedOver` counts only the events that append itself went past. */
  readonly append: EventStore.AppendResult
  /** How many decide-and-append rounds it took (1 without a retry). */
  readonly attempts: number
  /**
   * How far the command was rebased in all: the events committed between the version it was first decided on (the
   * caller's expected version, or the version first loaded) and its own events, whether a retry caught up on them
   * and decided again or the registry let the append go past them. 0 when nobody else wrote in between.
   */
  readonly rebasedOver: number
}

interface Loaded<State> {
  readonly state: State
  readonly version: StreamVersion.StreamVersion
}

/**
 * Handles one command on one stream: load, decide, append with the expected version, and on a conflict retry under
 * `options.retry` (reading only the events committed since). An exact `expectedVersion` the stream has not reached
 * fails with `WrongExpectedVersion` before anything is decided, and one no store takes (a cast negative or fractional
 * version, or one past `StreamVersion.max`) with `InvalidArgument` before anything is read. When the append went past events committed since the
 * load, they are read for the state returned; if that read fails, the events were appended all the same.
 *
 * @since 0.1.0
 * @category handling
 */
export const handle = <Command, Event extends Tagged, State, E, R>(
  decider: Decider.Decider<Command, Event, State, E, R>,
  streamId: StreamId.StreamId,
  command: Command,
  options: Options<Event>
): Effect.Effect<
  Result<Event, State>,
  E | EventStore.AppendError | EventStore.UndecodableEvent,
  R | EventStore.EventStore
> =>
  Effect.gen(function*() {
    // The expected version shapes the first read and the error below: one the stores would refuse fails as they
    // would (InvalidArgument), whatever the caller's types said, before anything is read.
    if (options.expectedVersion !== undefined) yield* validate(streamId, options.expectedVersion, [])
    const decidedAt = options.expectedVersion?._tag === "Exact" ? options.expectedVersion.version : undefined
    const unchecked = options.expectedVersion?._tag === "Any"
    const store = yield* EventStore.forDomain({ schema: options.schema, registry: options.registry })
    const catchUp = (loaded: Loaded<State>, limit?: number) =>
      store.read(streamId, { from: loaded.version + 1, limit }).pipe(
        Stream.runFold(loaded, (acc, recorded): Loaded<State> => ({
          state: decider.evolve(acc.state, recorded.data),
          version: recorded.version
        }))
      )
    const initial = yield* catchUp(
      { state: decider.initialState, version: StreamVersion.zero },
      decidedAt
    )
    if (decidedAt !== undefined && initial.version !== decidedAt) {
      // The read stopped at the stream's end, short of the version the caller claims to have read.
      return yield* new WrongExpectedVersion({ streamId, expectedVersion: decidedAt, actualVersion: initial.version })
    }
    const latest = yield* Ref.make(initial)
    const attempts = yield* Ref.make(0)
    const attempt = Effect.gen(function*() {
      const round = yield* Ref.updateAndGet(attempts, (n) => n + 1)
      // After a conflict, read only what was committed since the last load: never re-append stale decisions.
      const loaded = round === 1 ? yield* Ref.get(latest) : yield* catchUp(yield* Ref.get(latest))
      yield* Ref.set(latest, loaded)
      const events = yield* decider.decide(command, loaded.state)
      const proposed = events.map((event) => ({ event, metadata: options.metadata }))
      const append = yield* store.append(
        streamId,
        unchecked ? ExpectedVersion.any : ExpectedVersion.exact(loaded.version),
        proposed
      )
      // The append may have gone past events committed since the load; the store's check may have read only those
      // that could clash, so the state reads exactly the skipped range, and nothing when the writer was up to date.
      const skipped = append.firstVersion - 1 - loaded.version
      const before = skipped > 0 ? (yield* catchUp(loaded, skipped)).state : loaded.state
      return {
        events,
        state: Decider.fold(decider, before, events),
        append,
        attempts: round,
        rebasedOver: append.firstVersion - 1 - initial.version
      }
    })
    return yield* options.retry === undefined
      ? attempt
      : Effect.retry(attempt, {
        // Only conflicts reach the schedule: `while` fails at once on every other error.
        schedule: options.retry as Schedule.Schedule<unknown, unknown>,
        while: isConcurrencyConflict
      })
  })

/**
 * Reads a stream and folds it into a state, with the version it is at.
 *
 * @since 0.1.0
 * @category handling
 */
export const load = <Event extends Tagged, State>(
  decider: Pick<Decider.Decider<never, Event, State, unknown, unknown>, "evolve" | "initialState">,
  streamId: StreamId.StreamId,
  options: { readonly schema: EventSchema<Event>; readonly registry: ConflictRegistry<Event, any> }
): Effect.Effect<
  { readonly state: State; readonly version: StreamVersion.StreamVersion },
  EventStore.StoreError | EventStore.InvalidArgument | EventStore.UndecodableEvent,
  EventStore.EventStore
> =>
  Effect.flatMap(EventStore.forDomain(options), (store) =>
    store.read(streamId).pipe(
      Stream.runCollect,
      Effect.map((events) => ({
        state: Decider.fold(decider, decider.initialState, Chunk.map(events, (recorded) => recorded.data)),
        version: Option.getOrElse(Option.map(Chunk.last(events), (e) => e.version), () => StreamVersion.zero)
      }))
    ))
