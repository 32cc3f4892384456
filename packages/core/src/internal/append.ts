import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Conflict from "../Conflict.js"
import * as ConflictRegistry from "../ConflictRegistry.js"
import * as Event from "../Event.js"
import type { AppendError, AppendResult } from "../EventStore.js"
import { DuplicateEventId, type StoreError } from "../EventStoreError.js"
import type { ExpectedVersion } from "../ExpectedVersion.js"
import type * as StreamId from "../StreamId.js"
import * as StreamVersion from "../StreamVersion.js"
import { conflictingEvents } from "./conflictingEvents.js"
import { problem } from "./validation.js"

/**
 * Where a stored event id lives, and the result of the append that stored it, so that a re-sent batch is recognised
 * as a whole and gets its original result back.
 *
 * @internal
 */
export interface StoredId {
  readonly id: Event.EventId
  readonly version: StreamVersion.StreamVersion
  readonly batch: AppendResult
}

/**
 * What a backend offers inside its per-stream critical section: nothing else may append to the stream between
 * `currentVersion` (the first call, which may take the lock) and `write`.
 *
 * @internal
 */
export interface Backend<E = never> {
  readonly currentVersion: Effect.Effect<StreamVersion.StreamVersion, StoreError>
  /**
   * Committed events with a version above `version`, in order. Events whose type is in `except` cannot clash with
   * the batch: a backend may leave them out (`type NOT IN except`) or return them all. It is an exclusion list, not
   * a list of types to read, because committed events of types the registry does not know clash with every rule.
   */
  readonly committedAfter: (
    version: StreamVersion.StreamVersion,
    except: ReadonlyArray<string>
  ) => Effect.Effect<ReadonlyArray<Conflict.Committed>, StoreError>
  readonly findIds: (ids: ReadonlyArray<Event.EventId>) => Effect.Effect<ReadonlyArray<StoredId>, StoreError>
  readonly write: (
    events: ReadonlyArray<PendingEvent>,
    batch: AppendResult
  ) => Effect.Effect<void, StoreError | DuplicateEventId | E>
}

/**
 * An event the shared flow built for a backend to write: everything a recorded event has but its position, which
 * the backend's write assigns.
 *
 * @internal
 */
export type PendingEvent = Omit<Event.RecordedEvent, "position">

const result = (
  streamId: StreamId.StreamId,
  firstVersion: number,
  lastVersion: number,
  rebasedOver: number
): AppendResult => ({
  streamId,
  firstVersion: StreamVersion.unsafeMake(firstVersion),
  lastVersion: StreamVersion.unsafeMake(lastVersion),
  rebasedOver
})

/**
 * A batch whose ids are exactly those of one stored batch of this stream, in the same order, was appended before:
 * its original result. Any other overlap with stored ids is an error.
 */
const replay = (
  streamId: StreamId.StreamId,
  events: ReadonlyArray<Event.EventData>,
  stored: ReadonlyArray<StoredId>
): Either.Either<AppendResult, DuplicateEventId> => {
  const byId = new Map(stored.map((entry) => [entry.id as string, entry]))
  const batch = byId.get(events[0]?.id ?? "")?.batch
  const sameBatch = batch !== undefined && batch.streamId === streamId &&
    batch.lastVersion - batch.firstVersion + 1 === events.length &&
    events.every((event, i) => byId.get(event.id ?? "")?.version === batch.firstVersion + i)
  return sameBatch
    ? Either.right(batch)
    : Either.left(new DuplicateEventId({ streamId, eventIds: stored.map((entry) => entry.id) }))
}

/**
 * The known committed types no event of the batch can clash with, which a backend may leave unread ("nothing": no
 * event of the batch can clash with anything, so nothing need be read). Types the registry does not know clash with
 * every rule but `never`, so the read is narrowed by exclusion, never by a list of the types that clash.
 */
const ignoredTypes = (
  registry: ConflictRegistry.ConflictRegistry<any, any>,
  events: ReadonlyArray<Event.EventData>
): ReadonlyArray<string> | "nothing" => {
  let ignored: ReadonlyArray<string> | undefined
  for (const event of events) {
    const rule = ConflictRegistry.committedTypesFor(registry, event.type)
    if (rule._tag === "All") return noTypes
    if (rule.types.length === 0) continue // never
    ignored = ignored === undefined || ignored === rule.ignored
      ? rule.ignored
      : ignored.filter((type) => rule.ignored.includes(type))
  }
  return ignored ?? "nothing"
}

const noTypes: ReadonlyArray<string> = []

/**
 * What the shared flow asks of a backend, in order: a driver performs each request and resumes the flow with the
 * answer (the version, the stored ids, the committed events, the time, nothing after a write).
 */
type Request =
  | { readonly _tag: "CurrentVersion" }
  | { readonly _tag: "FindIds"; readonly ids: ReadonlyArray<Event.EventId> }
  | {
    readonly _tag: "CommittedAfter"
    readonly version: StreamVersion.StreamVersion
    readonly except: ReadonlyArray<string>
  }
  | { readonly _tag: "Now" }
  | { readonly _tag: "Write"; readonly records: ReadonlyArray<PendingEvent>; readonly batch: AppendResult }

/** The metadata of events that bring none: one frozen empty object, rather than one per event a store may keep. */
export const noMetadata: Event.Metadata = Object.freeze({})

const currentVersion: Request = { _tag: "CurrentVersion" }
const now: Request = { _tag: "Now" }

/**
 * The append semantics every store shares, written once as a plain generator over its requests to the backend, so
 * that a synchronous backend runs it in one synchronous step and an effectful one runs it as an Effect. Each `yield`
 * is answered with what its request asks for.
 */
function* flow(
  registry: ConflictRegistry.ConflictRegistry<any, any>,
  streamId: StreamId.StreamId,
  expected: ExpectedVersion,
  events: ReadonlyArray<Event.EventData>
): Generator<Request, Either.Either<AppendResult, AppendError>, any> {
  const invalid = problem(streamId, expected, events)
  if (invalid !== undefined) return Either.left(invalid)
  const current: StreamVersion.StreamVersion = yield currentVersion
  let ids: Array<Event.EventId> | undefined
  for (const event of events) if (event.id !== undefined) (ids ??= []).push(event.id)
  if (ids !== undefined) {
    const stored: ReadonlyArray<StoredId> = yield { _tag: "FindIds", ids }
    if (stored.length > 0) return replay(streamId, events, stored)
  }
  let rebasedOver = 0
  if (expected._tag === "Exact" && expected.version !== current) {
    if (expected.version > current) {
      return Either.left(
        new Conflict.WrongExpectedVersion({ streamId, expectedVersion: expected.version, actualVersion: current })
      )
    }
    const except = ignoredTypes(registry, events)
    if (events.length > 0 && except !== "nothing") {
      const committed: ReadonlyArray<Conflict.Committed> = yield {
        _tag: "CommittedAfter",
        version: expected.version,
        except
      }
      const pairs = Conflict.detect(registry, committed, events)
      if (pairs.length > 0) {
        return Either.left(
          new Conflict.ConcurrencyConflict({
            streamId,
            expectedVersion: expected.version,
            actualVersion: current,
            conflicts: pairs as [Conflict.ConflictingPair, ...Array<Conflict.ConflictingPair>],
            ...conflictingEvents(committed, pairs)
          })
        )
      }
    }
    rebasedOver = current - expected.version
  }
  if (events.length === 0) return Either.right(result(streamId, current + 1, current, 0))
  const recordedAt = new Date(yield now)
  const records: Array<PendingEvent> = new Array(events.length)
  for (let i = 0; i < events.length; i++) {
    const event = events[i]!
    records[i] = {
      id: event.id ?? Event.makeId(),
      streamId,
      version: StreamVersion.unsafeMake(current + 1 + i),
      type: event.type,
      data: event.data,
      metadata: event.metadata ?? noMetadata,
      recordedAt
    }
  }
  const batch = result(streamId, current + 1, current + events.length, rebasedOver)
  yield { _tag: "Write", records, batch }
  return Either.right(batch)
}

/**
 * The append semantics every store shares, run inside the backend's per-stream critical section.
 *
 * @internal
 */
export const append = <E>(
  backend: Backend<E>,
  registry: ConflictRegistry.ConflictRegistry<any, any>,
  streamId: StreamId.StreamId,
  expected: ExpectedVersion,
  events: ReadonlyArray<Event.EventData>
): Effect.Effect<AppendResult, AppendError | E> =>
  Effect.suspend(() => {
    // A fresh generator each time the Effect runs, so that a retried append starts over.
    const steps = flow(registry, streamId, expected, events)
    const resume = (answer?: unknown): Effect.Effect<AppendResult, AppendError | E> => {
      const step = steps.next(answer)
      return step.done ? step.value : Effect.flatMap(perform(backend, step.value), resume)
    }
    return resume()
  })

const perform = <E>(
  backend: Backend<E>,
  request: Request
): Effect.Effect<unknown, StoreError | DuplicateEventId | E> => {
  switch (request._tag) {
    case "CurrentVersion":
      return backend.currentVersion
    case "FindIds":
      return backend.findIds(request.ids)
    case "CommittedAfter":
      return backend.committedAfter(request.version, request.except)
    case "Now":
      return Clock.currentTimeMillis
    case "Write":
      return backend.write(request.records, request.batch)
  }
}

/**
 * A backend whose operations complete at once: the whole append then runs as one synchronous step, which no other
 * fiber can interleave with (JavaScript runs one thing at a time), so it needs no lock.
 *
 * @internal
 */
export interface SyncBackend {
  readonly currentVersion: (stream: StreamId.StreamId) => StreamVersion.StreamVersion
  readonly committedAfter: (
    stream: StreamId.StreamId,
    version: StreamVersion.StreamVersion,
    except: ReadonlyArray<string>
  ) => ReadonlyArray<Conflict.Committed>
  readonly findIds: (ids: ReadonlyArray<Event.EventId>) => ReadonlyArray<StoredId>
  readonly write: (stream: StreamId.StreamId, events: ReadonlyArray<PendingEvent>, batch: AppendResult) => void
}

/**
 * The same semantics as `append`, run synchronously against a synchronous backend; the time of the records is the
 * given Clock's.
 *
 * @internal
 */
export const appendSync = (
  backend: SyncBackend,
  clock: Clock.Clock,
  registry: ConflictRegistry.ConflictRegistry<any, any>,
  streamId: StreamId.StreamId,
  expected: ExpectedVersion,
  events: ReadonlyArray<Event.EventData>
): Either.Either<AppendResult, AppendError> => {
  const steps = flow(registry, streamId, expected, events)
  let step = steps.next()
  while (!step.done) {
    const request = step.value
    switch (request._tag) {
      case "CurrentVersion":
        step = steps.next(backend.currentVersion(streamId))
        break
      case "FindIds":
        step = steps.next(backend.findIds(request.ids))
        break
      case "CommittedAfter":
        step = steps.next(backend.committedAfter(streamId, request.version, request.except))
        break
      case "Now":
        step = steps.next(clock.unsafeCurrentTimeMillis())
        break
      case "Write":
        backend.write(streamId, request.records, request.batch)
        step = steps.next()
        break
    }
  }
  return step.value
}
