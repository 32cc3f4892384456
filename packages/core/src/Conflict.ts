/**
 * Conflict detection: given the events committed since a writer read its stream and the events it proposes, which
 * pairs clash under a registry. Pure, synchronous, and the errors a store raises when the answer is "some".
 *
 * @since 0.1.0
 */
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import type { ConflictRegistry } from "./ConflictRegistry.js"
import * as Event from "./Event.js"
import * as internal from "./internal/compiledRegistry.js"
import { markPrototype } from "./internal/typeId.js"
import * as StreamId from "./StreamId.js"
import * as StreamVersion from "./StreamVersion.js"

/**
 * A committed event as detection needs it (a {@link Event.RecordedEvent} will do). Its metadata, when the store
 * gives it (every Concord store does), goes into the {@link ConcurrencyConflict} that names the event.
 *
 * @since 0.1.0
 * @category models
 */
export interface Committed extends Event.EncodedEvent {
  readonly id: Event.EventId
  readonly version: StreamVersion.StreamVersion
  readonly metadata?: Event.Metadata | undefined
}

/**
 * A proposed event as detection needs it: an {@link Event.EncodedEvent} (an {@link Event.EventData} will do).
 *
 * @since 0.1.0
 * @category models
 */
export type Proposed = Event.EncodedEvent

/**
 * One clash: the proposed event (its index in the batch and its type) and the committed event it conflicts with.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ConflictingPair = Schema.Struct({
  proposedIndex: Schema.NonNegativeInt,
  proposedType: Schema.String,
  committedId: Event.EventId,
  committedVersion: StreamVersion.StreamVersion,
  committedType: Schema.String
}).annotations({ identifier: "ConflictingPair" })

/**
 * @since 0.1.0
 * @category models
 */
export interface ConflictingPair extends Schema.Schema.Type<typeof ConflictingPair> {}

/**
 * A committed event a {@link ConcurrencyConflict} names, whole, so that the writer can rebase its decision without
 * reading the stream again: its id, version and type, and its data and metadata in the store's encoded form (decode
 * the data with {@link Event.decode}).
 *
 * @since 0.2.0
 * @category schemas
 */
export const ConflictingEvent = Schema.Struct({
  id: Event.EventId,
  version: StreamVersion.StreamVersion,
  type: Schema.String,
  data: Schema.Unknown,
  metadata: Event.Metadata
}).annotations({ identifier: "ConflictingEvent" })

/**
 * @since 0.2.0
 * @category models
 */
export interface ConflictingEvent extends Schema.Schema.Type<typeof ConflictingEvent> {}

/**
 * The most committed events a {@link ConcurrencyConflict} carries: a writer far behind a busy stream may clash with
 * thousands, which would make the error (and the service's `409` body) as large as a read of the stream. Past it the
 * error keeps the first ones by version and sets `committedEventsTruncated`; the writer reads the rest from the
 * stream.
 *
 * @since 0.2.0
 * @category constants
 */
export const maxCommittedEvents = 100

const noPairs: ReadonlyArray<ConflictingPair> = []

/**
 * Every pair of a proposed and a committed event that conflicts under the registry, in proposed then committed
 * order; empty when the proposal may be appended after the committed events. A proposed type the registry does not
 * know follows the default rule (it conflicts with everything); a committed type it does not know conflicts with
 * every proposed type whose rule is not `never`, since no rule can reason about it. Nothing is allocated when nothing
 * conflicts.
 *
 * @since 0.1.0
 * @category detection
 */
export const detect = (
  registry: ConflictRegistry<any, any>,
  committed: ReadonlyArray<Committed>,
  proposed: ReadonlyArray<Proposed>
): ReadonlyArray<ConflictingPair> => {
  const compiled = internal.compile(registry)
  const count = internal.scanConflicts(compiled, committed, proposed, false)
  if (count === 0) return noPairs
  const pairs: Array<ConflictingPair> = new Array(count)
  for (let k = 0; k < count; k++) {
    const i = compiled.found[2 * k]!
    const event = committed[compiled.found[2 * k + 1]!]!
    pairs[k] = {
      proposedIndex: i,
      proposedType: proposed[i]!.type,
      committedId: event.id,
      committedVersion: event.version,
      committedType: event.type
    }
  }
  return pairs
}

/**
 * Whether any proposed event conflicts with any committed one; stops at the first clash.
 *
 * @since 0.1.0
 * @category detection
 */
export const hasConflict = (
  registry: ConflictRegistry<any, any>,
  committed: ReadonlyArray<Committed>,
  proposed: ReadonlyArray<Proposed>
): boolean => internal.scanConflicts(internal.compile(registry), committed, proposed, true) > 0

const describePair = (pair: ConflictingPair): string =>
  `${pair.proposedType} (proposed #${pair.proposedIndex}) conflicts with ${pair.committedType} ` +
  `(version ${pair.committedVersion})`

/**
 * @since 0.1.0
 * @category type ids
 */
export const ConcurrencyConflictTypeId: unique symbol = Symbol.for("@concord/core/Conflict/ConcurrencyConflict")

/**
 * @since 0.1.0
 * @category type ids
 */
export type ConcurrencyConflictTypeId = typeof ConcurrencyConflictTypeId

/**
 * Events were committed since the writer's expected version and some of them conflict with what it proposes.
 * Nothing was written.
 *
 * `conflicts` names every clashing pair. `committedEvents` holds the committed events of those pairs, each once, in
 * version order, with their data and metadata, so that the writer can fold them into its state and decide again
 * without another read; committed events that clash with nothing are not in it (the append could pass them). It
 * holds at most {@link maxCommittedEvents}, the first ones by version, and `committedEventsTruncated` says whether
 * later clashing events were left out. Both may be left out when the error is made or decoded (as from a service of
 * the release before them): the list is then empty and said to be cut.
 *
 * @since 0.1.0
 * @category errors
 */
export class ConcurrencyConflict extends Schema.TaggedError<ConcurrencyConflict>()("ConcurrencyConflict", {
  streamId: StreamId.StreamId,
  expectedVersion: StreamVersion.StreamVersion,
  actualVersion: StreamVersion.StreamVersion,
  conflicts: Schema.NonEmptyArray(ConflictingPair),
  // Optional to make and to decode, for errors made by code and services written before they existed: left out,
  // the list is empty and said to be cut, so a writer knows to read the stream.
  committedEvents: Schema.optionalWith(Schema.Array(ConflictingEvent), { default: () => [] }),
  committedEventsTruncated: Schema.optionalWith(Schema.Boolean, { default: () => true })
}) {
  /**
   * @since 0.1.0
   */
  declare readonly [ConcurrencyConflictTypeId]: ConcurrencyConflictTypeId

  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `stream ${this.streamId} is at version ${this.actualVersion}, the writer expected ` +
      `${this.expectedVersion}: ${this.conflicts.map(describePair).join("; ")}`
  }
}

markPrototype(ConcurrencyConflict, ConcurrencyConflictTypeId)

/**
 * Whether a value is an instance of {@link ConcurrencyConflict}, found by its type id: also one decoded from the wire
 * or made by another copy of this package, never a plain object that merely has the same `_tag`.
 *
 * @since 0.1.0
 * @category guards
 */
export const isConcurrencyConflict = (u: unknown): u is ConcurrencyConflict =>
  Predicate.hasProperty(u, ConcurrencyConflictTypeId)

/**
 * @since 0.1.0
 * @category type ids
 */
export const WrongExpectedVersionTypeId: unique symbol = Symbol.for("@concord/core/Conflict/WrongExpectedVersion")

/**
 * @since 0.1.0
 * @category type ids
 */
export type WrongExpectedVersionTypeId = typeof WrongExpectedVersionTypeId

/**
 * The writer expected a version the stream has not reached: it cannot have read it. Nothing was written.
 *
 * @since 0.1.0
 * @category errors
 */
export class WrongExpectedVersion extends Schema.TaggedError<WrongExpectedVersion>()("WrongExpectedVersion", {
  streamId: StreamId.StreamId,
  expectedVersion: StreamVersion.StreamVersion,
  actualVersion: StreamVersion.StreamVersion
}) {
  /**
   * @since 0.1.0
   */
  declare readonly [WrongExpectedVersionTypeId]: WrongExpectedVersionTypeId

  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `stream ${this.streamId} is at version ${this.actualVersion}, ` +
      `but the writer expected version ${this.expectedVersion}, which it cannot have read`
  }
}

markPrototype(WrongExpectedVersion, WrongExpectedVersionTypeId)

/**
 * Whether a value is an instance of {@link WrongExpectedVersion}, found by its type id: also one decoded from the wire
 * or made by another copy of this package, never a plain object that merely has the same `_tag`.
 *
 * @since 0.1.0
 * @category guards
 */
export const isWrongExpectedVersion = (u: unknown): u is WrongExpectedVersion =>
  Predicate.hasProperty(u, WrongExpectedVersionTypeId)

/**
 * The errors of an append that the registry or the versions refuse.
 *
 * @since 0.1.0
 * @category errors
 */
export type VersionError = ConcurrencyConflict | WrongExpectedVersion

/**
 * Whether a value is one of this module's errors, a {@link VersionError}: an instance of either class.
 *
 * @since 0.1.0
 * @category guards
 */
export const isVersionError = (u: unknown): u is VersionError => isConcurrencyConflict(u) || isWrongExpectedVersion(u)
