import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Conflict from "../Conflict.js"
import * as ConflictRegistry from "../ConflictRegistry.js"
import * as Event from "../Event.js"
import type { AppendError, AppendResult } from "../EventStore.js"
import { DuplicateEventId, InvalidEventData, type StoreError } from "../EventStore.js"
import type { ExpectedVersion } from "../ExpectedVersion.js"
import type { StreamId } from "../StreamId.js"
import * as StreamVersion from "../StreamVersion.js"
import { jsonProblem } from "./json.js"

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
    events: ReadonlyArray<Event.RecordedEvent>,
    batch: AppendResult
  ) => Effect.Effect<void, StoreError | DuplicateEventId | E>
}

/**
 * Why a type or id the caller built without its Schema (EventData's type is a plain string, an id may be cast) is not
 * one, or `undefined`. The check is the Schema's own, built once; a message is formatted only for an invalid string.
 */
const stringCheck = (schema: Schema.Schema<any, string>, field: string) => {
  const valid = Schema.is(schema)
  const decode = Schema.decodeUnknownEither(schema)
  return (value: string): string | undefined =>
    valid(value) ? undefined : Either.match(decode(value), {
      onLeft: (error) => `${field}: ${ParseResult.TreeFormatter.formatErrorSync(error)}`,
      onRight: () => undefined
    })
}

const typeProblem = stringCheck(Event.EventType, "type")
const idProblem = stringCheck(Event.EventId, "id")

/**
 * Checks a batch before anything is read: types and ids valid, ids unique within it, data and metadata that JSON
 * carries exactly.
 *
 * @internal
 */
export const validate = (
  streamId: StreamId,
  events: ReadonlyArray<Event.EventData>
): Effect.Effect<void, InvalidEventData | DuplicateEventId> => {
  const ids = new Set<string>()
  const repeated: Array<Event.EventId> = []
  for (let index = 0; index < events.length; index++) {
    const event = events[index]!
    const problem = typeProblem(event.type) ?? (event.id === undefined ? undefined : idProblem(event.id)) ??
      jsonProblem(event.data, "data") ?? jsonProblem(event.metadata ?? {}, "metadata")
    if (problem !== undefined) {
      return Effect.fail(new InvalidEventData({ streamId, index, type: event.type, reason: problem }))
    }
    if (event.id === undefined) continue
    if (ids.has(event.id)) repeated.push(event.id)
    ids.add(event.id)
  }
  return repeated.length > 0 ? Effect.fail(new DuplicateEventId({ streamId, eventIds: repeated })) : Effect.void
}

const result = (
  streamId: StreamId,
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
  streamId: StreamId,
  events: ReadonlyArray<Event.EventData>,
  stored: ReadonlyArray<StoredId>
): Effect.Effect<AppendResult, DuplicateEventId> => {
  const byId = new Map(stored.map((entry) => [entry.id as string, entry]))
  const batch = byId.get(events[0]?.id ?? "")?.batch
  const sameBatch = batch !== undefined && batch.streamId === streamId &&
    batch.lastVersion - batch.firstVersion + 1 === events.length &&
    events.every((event, i) => byId.get(event.id ?? "")?.version === batch.firstVersion + i)
  return sameBatch
    ? Effect.succeed(batch)
    : Effect.fail(new DuplicateEventId({ streamId, eventIds: stored.map((entry) => entry.id) }))
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
 * The append semantics every store shares, run inside the backend's per-stream critical section.
 *
 * @internal
 */
export const append = <E>(
  backend: Backend<E>,
  registry: ConflictRegistry.ConflictRegistry<any, any>,
  streamId: StreamId,
  expected: ExpectedVersion,
  events: ReadonlyArray<Event.EventData>
): Effect.Effect<AppendResult, AppendError | E> =>
  Effect.gen(function*() {
    yield* validate(streamId, events)
    const current = yield* backend.currentVersion
    const ids = events.flatMap((event) => event.id === undefined ? [] : [event.id])
    if (ids.length > 0) {
      const stored = yield* backend.findIds(ids)
      if (stored.length > 0) return yield* replay(streamId, events, stored)
    }
    let rebasedOver = 0
    if (expected._tag === "Exact" && expected.version !== current) {
      if (expected.version > current) {
        return yield* new Conflict.WrongExpectedVersion({
          streamId,
          expectedVersion: expected.version,
          actualVersion: current
        })
      }
      const ignored = ignoredTypes(registry, events)
      if (events.length > 0 && ignored !== "nothing") {
        const committed = yield* backend.committedAfter(expected.version, ignored)
        const pairs = Conflict.detect(registry, committed, events)
        if (pairs.length > 0) {
          return yield* new Conflict.ConcurrencyConflict({
            streamId,
            expectedVersion: expected.version,
            actualVersion: current,
            conflicts: pairs as [Conflict.ConflictingPair, ...Array<Conflict.ConflictingPair>]
          })
        }
      }
      rebasedOver = current - expected.version
    }
    if (events.length === 0) return result(streamId, current + 1, current, 0)
    const recordedAt = new Date(yield* Clock.currentTimeMillis)
    const records = events.map((event, i): Event.RecordedEvent => ({
      id: event.id ?? Event.makeId(),
      streamId,
      version: StreamVersion.unsafeMake(current + 1 + i),
      type: event.type,
      data: event.data,
      metadata: event.metadata ?? {},
      recordedAt
    }))
    const appended = result(streamId, current + 1, current + events.length, rebasedOver)
    yield* backend.write(records, appended)
    return appended
  })
