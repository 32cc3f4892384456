/**
 * The errors of an event store other than the registry's and the versions' (those are in `Conflict`): a batch that
 * cannot be stored, a stored event that does not decode, a backend that failed. A module below `EventStore`, so that
 * the stores and the shared append flow can build them without importing the service back.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import * as Event from "./Event.js"
import * as StreamId from "./StreamId.js"
import * as StreamVersion from "./StreamVersion.js"

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
  override get message(): string {
    return `stream ${this.streamId}: event ids already stored elsewhere or repeated in the batch: ` +
      this.eventIds.join(", ")
  }
}

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
  override get message(): string {
    return `stream ${this.streamId}: event #${this.index} (${this.type}) cannot be stored: ${this.reason}`
  }
}

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
  override get message(): string {
    return `stream ${this.streamId}: the event at version ${this.version} (${this.type}) does not decode: ${this.reason}`
  }
}

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
  override get message(): string {
    return `the event store failed to ${this.operation}`
  }
}
