/**
 * Why a consumer of the global log stopped: its handler kept failing on an event, it lost its lease, or it gave up
 * waiting for one. A module below `Consumer`, so that the consumer's parts can build these errors without importing
 * the module that runs them. Each error has a type id and an `is…` guard that recognises its instances, not plain
 * objects that merely carry its `_tag`.
 *
 * @since 0.2.0
 */
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import * as Event from "./Event.js"
import { markPrototype } from "./internal/typeId.js"
import * as Position from "./Position.js"
import * as StreamId from "./StreamId.js"
import * as StreamVersion from "./StreamVersion.js"

/**
 * @since 0.2.0
 * @category type ids
 */
export const HandlerFailedTypeId: unique symbol = Symbol.for("@concord/core/ConsumerError/HandlerFailed")

/**
 * @since 0.2.0
 * @category type ids
 */
export type HandlerFailedTypeId = typeof HandlerFailedTypeId

/**
 * The handler failed on an event as many times as the consumer's retry schedule allowed (or died on it), so the
 * consumer stopped at that event rather than skip it: its checkpoint is before the event, and the next run starts
 * with it. Names the consumer, the event (id, stream, version, type, position), how many times it was tried, and the
 * last failure.
 *
 * @since 0.2.0
 * @category errors
 */
export class HandlerFailed extends Schema.TaggedError<HandlerFailed>()("HandlerFailed", {
  consumer: Schema.String,
  eventId: Event.EventId,
  streamId: StreamId.StreamId,
  version: StreamVersion.StreamVersion,
  type: Schema.String,
  position: Position.FromString,
  attempts: Schema.Int,
  cause: Schema.Defect
}) {
  /**
   * @since 0.2.0
   */
  declare readonly [HandlerFailedTypeId]: HandlerFailedTypeId

  /**
   * @since 0.2.0
   */
  override get message(): string {
    return `consumer ${this.consumer} stopped: its handler failed ${this.attempts} time(s) on event ${this.eventId} ` +
      `(${this.type}, stream ${this.streamId} version ${this.version}, position ${Position.toString(this.position)})`
  }
}

markPrototype(HandlerFailed, HandlerFailedTypeId)

/**
 * Whether a value is an instance of {@link HandlerFailed}, found by its type id.
 *
 * @since 0.2.0
 * @category guards
 */
export const isHandlerFailed = (u: unknown): u is HandlerFailed => Predicate.hasProperty(u, HandlerFailedTypeId)

/**
 * @since 0.2.0
 * @category type ids
 */
export const LeaseLostTypeId: unique symbol = Symbol.for("@concord/core/ConsumerError/LeaseLost")

/**
 * @since 0.2.0
 * @category type ids
 */
export type LeaseLostTypeId = typeof LeaseLostTypeId

/**
 * The consumer no longer holds its lease, so it stopped handling: a renewal or a fenced save found another owner
 * (`"taken"`), or no renewal succeeded before the lease could end (`"lapsed"`: the store was unreachable or too slow).
 * Whatever it saved before stays; nothing after was saved by it.
 *
 * @since 0.2.0
 * @category errors
 */
export class LeaseLost extends Schema.TaggedError<LeaseLost>()("LeaseLost", {
  consumer: Schema.String,
  owner: Schema.String,
  reason: Schema.Literal("taken", "lapsed")
}) {
  /**
   * @since 0.2.0
   */
  declare readonly [LeaseLostTypeId]: LeaseLostTypeId

  /**
   * @since 0.2.0
   */
  override get message(): string {
    return this.reason === "taken"
      ? `consumer ${this.consumer} stopped: another owner took the lease from ${this.owner}`
      : `consumer ${this.consumer} stopped: ${this.owner} could not renew its lease before it ended`
  }
}

markPrototype(LeaseLost, LeaseLostTypeId)

/**
 * Whether a value is an instance of {@link LeaseLost}, found by its type id.
 *
 * @since 0.2.0
 * @category guards
 */
export const isLeaseLost = (u: unknown): u is LeaseLost => Predicate.hasProperty(u, LeaseLostTypeId)

/**
 * @since 0.2.0
 * @category type ids
 */
export const LeaseUnavailableTypeId: unique symbol = Symbol.for("@concord/core/ConsumerError/LeaseUnavailable")

/**
 * @since 0.2.0
 * @category type ids
 */
export type LeaseUnavailableTypeId = typeof LeaseUnavailableTypeId

/**
 * Someone else held the consumer's lease for as long as the consumer's wait schedule let it try: it never started.
 * Names the holder when the last look found one.
 *
 * @since 0.2.0
 * @category errors
 */
export class LeaseUnavailable extends Schema.TaggedError<LeaseUnavailable>()("LeaseUnavailable", {
  consumer: Schema.String,
  owner: Schema.String,
  holder: Schema.optional(Schema.String)
}) {
  /**
   * @since 0.2.0
   */
  declare readonly [LeaseUnavailableTypeId]: LeaseUnavailableTypeId

  /**
   * @since 0.2.0
   */
  override get message(): string {
    return `consumer ${this.consumer}: ${this.owner} gave up waiting for the lease` +
      (this.holder === undefined ? "" : ` held by ${this.holder}`)
  }
}

markPrototype(LeaseUnavailable, LeaseUnavailableTypeId)

/**
 * Whether a value is an instance of {@link LeaseUnavailable}, found by its type id.
 *
 * @since 0.2.0
 * @category guards
 */
export const isLeaseUnavailable = (u: unknown): u is LeaseUnavailable =>
  Predicate.hasProperty(u, LeaseUnavailableTypeId)

/**
 * @since 0.2.0
 * @category type ids
 */
export const InvalidOptionsTypeId: unique symbol = Symbol.for("@concord/core/ConsumerError/InvalidOptions")

/**
 * @since 0.2.0
 * @category type ids
 */
export type InvalidOptionsTypeId = typeof InvalidOptionsTypeId

/**
 * A consumer's options that are not what their documentation says (an empty name, a heartbeat longer than half the
 * lease, …), whatever the caller's types said: refused before anything is read or taken. `option` names the option.
 *
 * @since 0.2.0
 * @category errors
 */
export class InvalidOptions extends Schema.TaggedError<InvalidOptions>()("InvalidOptions", {
  consumer: Schema.optional(Schema.String),
  option: Schema.String,
  reason: Schema.String
}) {
  /**
   * @since 0.2.0
   */
  declare readonly [InvalidOptionsTypeId]: InvalidOptionsTypeId

  /**
   * @since 0.2.0
   */
  override get message(): string {
    return `consumer ${
      this.consumer === undefined ? "" : `${JSON.stringify(this.consumer)} `
    }option ${this.option}: ${this.reason}`
  }
}

markPrototype(InvalidOptions, InvalidOptionsTypeId)

/**
 * Whether a value is an instance of {@link InvalidOptions}, found by its type id.
 *
 * @since 0.2.0
 * @category guards
 */
export const isInvalidOptions = (u: unknown): u is InvalidOptions => Predicate.hasProperty(u, InvalidOptionsTypeId)

/**
 * The errors of this module.
 *
 * @since 0.2.0
 * @category errors
 */
export type ConsumerError = HandlerFailed | LeaseLost | LeaseUnavailable | InvalidOptions

/**
 * Whether a value is one of this module's errors.
 *
 * @since 0.2.0
 * @category guards
 */
export const isConsumerError = (u: unknown): u is ConsumerError =>
  isHandlerFailed(u) || isLeaseLost(u) || isLeaseUnavailable(u) || isInvalidOptions(u)
