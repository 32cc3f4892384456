/**
 * The errors of an event store other than the registry's and the versions' (those are in `Conflict`): a batch that
 * cannot be stored, a stream id or expected version no store accepts, a stored event that does not decode, a backend
 * that failed. A module below `EventStore`, so that
 * the stores and the shared append flow can build them without importing the service back. Each error has a type id
 * and an `is…` guard that recognises its instances, not plain objects that merely carry its `_tag`.
 *
 * @since 0.1.0
 */
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import * as Event from "./Event.js"
import { markPrototype } from "./internal/typeId.js"
import * as StreamId from "./StreamId.js"
import * as StreamVersion from "./StreamVersion.js"

/**
 * @since 0.1.0
 * @category type ids
 */
export const DuplicateEventIdTypeId: unique symbol = Symbol.for("@concord/core/EventStoreError/DuplicateEventId")

/**
 * @since 0.1.0
 * @category type ids
 */
export type DuplicateEventIdTypeId = typeof DuplicateEventIdTypeId

/**
 * Some event ids of the batch are already stored, but not as this very batch at these versions (or the batch names
 * one id twice). Nothing was written.
 *
 * @since 0.1.0
 * @category errors
 */
export class DuplicateEventId extends Schema.TaggedError<DuplicateEventId>()("DuplicateEventId", {
  streamId: StreamId.StreamId,
  eventIds: Schema.Array(Event.EventId)
}) {
  /**
   * @since 0.1.0
   */
  declare readonly [DuplicateEventIdTypeId]: DuplicateEventIdTypeId

  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `stream ${this.streamId}: event ids already stored elsewhere or repeated in the batch: ` +
      this.eventIds.join(", ")
  }
}

markPrototype(DuplicateEventId, DuplicateEventIdTypeId)

/**
 * Whether a value is an instance of {@link DuplicateEventId}, found by its type id: also one decoded from the wire or
 * made by another copy of this package, never a plain object that merely has the same `_tag`.
 *
 * @since 0.1.0
 * @category guards
 */
export const isDuplicateEventId = (u: unknown): u is DuplicateEventId =>
  Predicate.hasProperty(u, DuplicateEventIdTypeId)

/**
 * @since 0.1.0
 * @category type ids
 */
export const InvalidEventDataTypeId: unique symbol = Symbol.for("@concord/core/EventStoreError/InvalidEventData")

/**
 * @since 0.1.0
 * @category type ids
 */
export type InvalidEventDataTypeId = typeof InvalidEventDataTypeId

/**
 * A proposed event cannot be stored as it is: data or metadata that JSON cannot carry exactly, or a typed event that
 * fails its Schema. Nothing was written.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidEventData extends Schema.TaggedError<InvalidEventData>()("InvalidEventData", {
  streamId: StreamId.StreamId,
  index: Schema.NonNegativeInt,
  type: Schema.String,
  reason: Schema.String
}) {
  /**
   * @since 0.1.0
   */
  declare readonly [InvalidEventDataTypeId]: InvalidEventDataTypeId

  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `stream ${this.streamId}: event #${this.index} (${this.type}) cannot be stored: ${this.reason}`
  }
}

markPrototype(InvalidEventData, InvalidEventDataTypeId)

/**
 * Whether a value is an instance of {@link InvalidEventData}, found by its type id: also one decoded from the wire or
 * made by another copy of this package, never a plain object that merely has the same `_tag`.
 *
 * @since 0.1.0
 * @category guards
 */
export const isInvalidEventData = (u: unknown): u is InvalidEventData =>
  Predicate.hasProperty(u, InvalidEventDataTypeId)

/**
 * @since 0.1.0
 * @category type ids
 */
export const UndecodableEventTypeId: unique symbol = Symbol.for("@concord/core/EventStoreError/UndecodableEvent")

/**
 * @since 0.1.0
 * @category type ids
 */
export type UndecodableEventTypeId = typeof UndecodableEventTypeId

/**
 * A stored event that the domain's Schema cannot decode (a typed read of data written by other code or an older
 * version of the domain).
 *
 * @since 0.1.0
 * @category errors
 */
export class UndecodableEvent extends Schema.TaggedError<UndecodableEvent>()("UndecodableEvent", {
  streamId: StreamId.StreamId,
  version: StreamVersion.StreamVersion,
  type: Schema.String,
  reason: Schema.String
}) {
  /**
   * @since 0.1.0
   */
  declare readonly [UndecodableEventTypeId]: UndecodableEventTypeId

  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `stream ${this.streamId}: the event at version ${this.version} (${this.type}) does not decode: ${this.reason}`
  }
}

markPrototype(UndecodableEvent, UndecodableEventTypeId)

/**
 * Whether a value is an instance of {@link UndecodableEvent}, found by its type id: also one decoded from the wire or
 * made by another copy of this package, never a plain object that merely has the same `_tag`.
 *
 * @since 0.1.0
 * @category guards
 */
export const isUndecodableEvent = (u: unknown): u is UndecodableEvent =>
  Predicate.hasProperty(u, UndecodableEventTypeId)

/**
 * @since 0.1.0
 * @category type ids
 */
export const StoreErrorTypeId: unique symbol = Symbol.for("@concord/core/EventStoreError/StoreError")

/**
 * @since 0.1.0
 * @category type ids
 */
export type StoreErrorTypeId = typeof StoreErrorTypeId

/**
 * The backend failed: the database is down, a lock timed out, a row is corrupt. Names the operation; the cause is
 * kept for logs and never shown to remote clients.
 *
 * @since 0.1.0
 * @category errors
 */
export class StoreError extends Schema.TaggedError<StoreError>()("StoreError", {
  operation: Schema.String,
  cause: Schema.Defect
}) {
  /**
   * @since 0.1.0
   */
  declare readonly [StoreErrorTypeId]: StoreErrorTypeId

  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `the event store failed to ${this.operation}`
  }
}

markPrototype(StoreError, StoreErrorTypeId)

/**
 * Whether a value is an instance of {@link StoreError}, found by its type id: also one decoded from the wire or made by
 * another copy of this package, never a plain object that merely has the same `_tag`.
 *
 * @since 0.1.0
 * @category guards
 */
export const isStoreError = (u: unknown): u is StoreError => Predicate.hasProperty(u, StoreErrorTypeId)

/**
 * @since 0.1.0
 * @category type ids
 */
export const InvalidArgumentTypeId: unique symbol = Symbol.for("@concord/core/EventStoreError/InvalidArgument")

/**
 * @since 0.1.0
 * @category type ids
 */
export type InvalidArgumentTypeId = typeof InvalidArgumentTypeId

/**
 * A stream id or an expected version that no store accepts, whatever the caller's types said (a string cast to
 * `StreamId`, a hand-built `ExpectedVersion`): an id that is empty, longer than 512 characters or holds a NUL or an
 * unpaired surrogate, or an expected version that is not `Any` or an `Exact` whole number from 0 to
 * `StreamVersion.max`. Refused before anything is read or written. `streamId` is the id as the caller gave it.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidArgument extends Schema.TaggedError<InvalidArgument>()("InvalidArgument", {
  operation: Schema.Literal("append", "read", "version", "readAll", "subscribe"),
  /** The stream the operation was given; absent for reads of the global log. */
  streamId: Schema.optional(Schema.String),
  reason: Schema.String
}) {
  /**
   * @since 0.1.0
   */
  declare readonly [InvalidArgumentTypeId]: InvalidArgumentTypeId

  /**
   * @since 0.1.0
   */
  override get message(): string {
    return this.streamId === undefined
      ? `cannot ${operations[this.operation]}: ${this.reason}`
      : `cannot ${operations[this.operation]} stream ${shown(this.streamId)}: ${this.reason}`
  }
}

markPrototype(InvalidArgument, InvalidArgumentTypeId)

const operations = {
  append: "append to",
  read: "read",
  version: "read the version of",
  readAll: "read the global log",
  subscribe: "subscribe to the global log"
} as const

/** An id as a JSON string (quoted, NUL and lone surrogates escaped), cut short: the caller's input may be huge. */
const shown = (streamId: string): string =>
  streamId.length <= 100
    ? JSON.stringify(streamId)
    : `${JSON.stringify(streamId.slice(0, 100))}… (${streamId.length} characters)`

/**
 * Whether a value is an instance of {@link InvalidArgument}, found by its type id: also one decoded from the wire or
 * made by another copy of this package, never a plain object that merely has the same `_tag`.
 *
 * @since 0.1.0
 * @category guards
 */
export const isInvalidArgument = (u: unknown): u is InvalidArgument => Predicate.hasProperty(u, InvalidArgumentTypeId)

/**
 * @since 0.3.0
 * @category type ids
 */
export const AppendTimeoutTypeId: unique symbol = Symbol.for("@concord/core/EventStoreError/AppendTimeout")

/**
 * @since 0.3.0
 * @category type ids
 */
export type AppendTimeoutTypeId = typeof AppendTimeoutTypeId

/**
 * An append did not finish within its deadline (the database hung, or other writers held the stream too long).
 * `mayHaveCommitted` says whether the deadline came after the store began to commit: when it is `false` nothing was
 * written; when it is `true` the batch may or may not be stored. Either way it is safe to send the same batch again
 * with the same event ids: a batch already stored is recognised and answered with its original result, never written
 * twice. (Events sent without ids get fresh ones each time, so a retry of those could store them twice.)
 *
 * @since 0.3.0
 * @category errors
 */
export class AppendTimeout extends Schema.TaggedError<AppendTimeout>()("AppendTimeout", {
  streamId: Schema.String,
  timeoutMillis: Schema.Number,
  mayHaveCommitted: Schema.Boolean
}) {
  /**
   * @since 0.3.0
   */
  declare readonly [AppendTimeoutTypeId]: AppendTimeoutTypeId

  /**
   * @since 0.3.0
   */
  override get message(): string {
    return `stream ${shown(this.streamId)}: the append did not finish within ${this.timeoutMillis} ms; ` +
      (this.mayHaveCommitted
        ? "it may have been committed: send the same events with the same ids again to learn its outcome"
        : "nothing was written")
  }
}

markPrototype(AppendTimeout, AppendTimeoutTypeId)

/**
 * Whether a value is an instance of {@link AppendTimeout}, found by its type id: also one decoded from the wire or
 * made by another copy of this package, never a plain object that merely has the same `_tag`.
 *
 * @since 0.3.0
 * @category guards
 */
export const isAppendTimeout = (u: unknown): u is AppendTimeout => Predicate.hasProperty(u, AppendTimeoutTypeId)

/**
 * Every error of this module.
 *
 * @since 0.1.0
 * @category errors
 */
export type EventStoreError =
  | DuplicateEventId
  | InvalidEventData
  | InvalidArgument
  | UndecodableEvent
  | StoreError
  | AppendTimeout

/**
 * Whether a value is one of this module's errors, an {@link EventStoreError}: an instance of one of its classes.
 *
 * @since 0.1.0
 * @category guards
 */
export const isEventStoreError = (u: unknown): u is EventStoreError =>
  isDuplicateEventId(u) || isInvalidEventData(u) || isInvalidArgument(u) || isUndecodableEvent(u) || isStoreError(u) ||
  isAppendTimeout(u)
