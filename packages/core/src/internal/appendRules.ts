// The decisions of the shared append, each a plain function of what the backend answered, so that the effectful
// driver and the synchronous one (append.ts) take them alike and differ only in how they ask.
import * as Either from "effect/Either"
import * as Conflict from "../Conflict.js"
import * as ConflictRegistry from "../ConflictRegistry.js"
import * as Event from "../Event.js"
import type { AppendResult } from "../EventStore.js"
import { DuplicateEventId } from "../EventStoreError.js"
import type { ExpectedVersion } from "../ExpectedVersion.js"
import type * as StreamId from "../StreamId.js"
import * as StreamVersion from "../StreamVersion.js"
import { conflictingEvents } from "./conflictingEvents.js"

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
 * An event the shared flow built for a backend to write: everything a recorded event has but its position, which
 * the backend's write assigns.
 *
 * @internal
 */
export type PendingEvent = Omit<Event.RecordedEvent, "position">

/** The metadata of events that bring none: one frozen empty object, rather than one per event a store may keep. */
export const noMetadata: Event.Metadata = Object.freeze({})

/** @internal */
export const result = (
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
 * The ids the batch brings, or `undefined` when it brings none (the store chooses them all, and no stored id can be
 * among them).
 *
 * @internal
 */
export const idsOf = (events: ReadonlyArray<Event.EventData>): Array<Event.EventId> | undefined => {
  let ids: Array<Event.EventId> | undefined
  for (let i = 0; i < events.length; i++) {
    const id = events[i]!.id
    if (id !== undefined) (ids ??= []).push(id)
  }
  return ids
}

/**
 * A batch whose ids are exactly those of one stored batch of this stream, in the same order, was appended before:
 * its original result. Any other overlap with stored ids is an error.
 *
 * @internal
 */
export const replay = (
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
 * What an append whose expected version is not the stream's must do next: fail (it expects a version the stream has
 * not reached), read the committed events after the expected version to check them against the batch (all but the
 * types in `except`), or nothing (no event of the batch can clash with anything, or the batch is empty).
 *
 * @internal
 */
export type Staleness =
  | { readonly _tag: "Ahead"; readonly error: Conflict.WrongExpectedVersion }
  | { readonly _tag: "Check"; readonly version: StreamVersion.StreamVersion; readonly except: ReadonlyArray<string> }
  | undefined

/**
 * How an append stands against the stream's current version: `undefined` when it is up to date (or expects `Any`), or
 * when nothing committed since can clash with its batch.
 *
 * @internal
 */
export const staleness = (
  registry: ConflictRegistry.ConflictRegistry<any, any>,
  streamId: StreamId.StreamId,
  expected: ExpectedVersion,
  current: StreamVersion.StreamVersion,
  events: ReadonlyArray<Event.EventData>
): Staleness => {
  if (expected._tag !== "Exact" || expected.version === current) return undefined
  if (expected.version > current) {
    return {
      _tag: "Ahead",
      error: new Conflict.WrongExpectedVersion({ streamId, expectedVersion: expected.version, actualVersion: current })
    }
  }
  const except = ignoredTypes(registry, events)
  return events.length > 0 && except !== "nothing" ? { _tag: "Check", version: expected.version, except } : undefined
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
 * The conflict of a stale batch with the events committed after the version it expected, or `undefined` when no pair
 * clashes.
 *
 * @internal
 */
export const conflict = (
  registry: ConflictRegistry.ConflictRegistry<any, any>,
  streamId: StreamId.StreamId,
  expectedVersion: StreamVersion.StreamVersion,
  current: StreamVersion.StreamVersion,
  events: ReadonlyArray<Event.EventData>,
  committed: ReadonlyArray<Conflict.Committed>
): Conflict.ConcurrencyConflict | undefined => {
  const pairs = Conflict.detect(registry, committed, events)
  return pairs.length === 0 ? undefined : new Conflict.ConcurrencyConflict({
    streamId,
    expectedVersion,
    actualVersion: current,
    conflicts: pairs as [Conflict.ConflictingPair, ...Array<Conflict.ConflictingPair>],
    ...conflictingEvents(committed, pairs)
  })
}

/**
 * The result of an append let through at `current`: its versions, and how many committed events it went past (those
 * after the version it expected, when the registry let it).
 *
 * @internal
 */
export const accepted = (
  streamId: StreamId.StreamId,
  expected: ExpectedVersion,
  current: StreamVersion.StreamVersion,
  count: number
): AppendResult =>
  result(
    streamId,
    current + 1,
    current + count,
    count > 0 && expected._tag === "Exact" ? current - expected.version : 0
  )

/**
 * The id an event is written with: its own, or a new one the store chooses.
 *
 * @internal
 */
export const idOf = (event: Event.EventData): Event.EventId => event.id ?? Event.makeId()

/**
 * The events to write, after `current`, recorded at `recordedAt`; the store chooses the ids the batch does not bring.
 *
 * @internal
 */
export const pendingEvents = (
  streamId: StreamId.StreamId,
  current: StreamVersion.StreamVersion,
  events: ReadonlyArray<Event.EventData>,
  recordedAt: Date
): Array<PendingEvent> => {
  const records: Array<PendingEvent> = new Array(events.length)
  for (let i = 0; i < events.length; i++) {
    const event = events[i]!
    records[i] = {
      id: idOf(event),
      streamId,
      version: StreamVersion.unsafeMake(current + 1 + i),
      type: event.type,
      data: event.data,
      metadata: event.metadata ?? noMetadata,
      recordedAt
    }
  }
  return records
}
