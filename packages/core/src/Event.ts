/**
 * Events as a domain declares them (a `Schema.Union` of `Schema.TaggedStruct`s discriminated by `_tag`), as a
 * writer proposes them, and as a store records them.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import type * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as internal from "./internal/event.js"
import { maxCodePoints, storable } from "./internal/text.js"
import { randomUuid } from "./internal/uuid.js"
import * as Position from "./Position.js"
import * as StreamId from "./StreamId.js"
import * as StreamVersion from "./StreamVersion.js"

/**
 * The shape every domain event has: a string `_tag` naming its type.
 *
 * @since 0.1.0
 * @category models
 */
export interface Tagged {
  readonly _tag: string
}

/**
 * The event types of a domain union, e.g. `"ClientValueUpgraded" | "MeetingNoteAdded"`.
 *
 * @since 0.1.0
 * @category models
 */
export type Tag<A extends Tagged> = A["_tag"]

/**
 * The member of a domain union with the given tag.
 *
 * @since 0.1.0
 * @category models
 */
export type WithTag<A extends Tagged, T extends Tag<A>> = Extract<A, { readonly _tag: T }>

/**
 * The Schema of a domain's events: decodes from JSON-compatible data, needs no services.
 *
 * @since 0.1.0
 * @category models
 */
export type EventSchema<A extends Tagged> = Schema.Schema<A, any, never>

/**
 * The unique identity of an event, chosen by the writer (making re-sent batches idempotent) or by the store: a
 * non-empty string of at most 128 characters (Unicode code points, as JSON Schema's `maxLength` counts them: an emoji
 * is one) with no NUL character and no unpaired UTF-16 surrogate.
 *
 * @since 0.1.0
 * @category schemas
 */
export const EventId = Schema.String.pipe(
  Schema.minLength(1, { message: () => "an event id must not be empty" }),
  maxCodePoints(128, "an event id must be at most 128 characters (Unicode code points)"),
  Schema.filter(storable("an event id")),
  Schema.brand("@concord/core/EventId"),
  Schema.annotations({ identifier: "EventId" })
)

/**
 * @since 0.1.0
 * @category models
 */
export type EventId = typeof EventId.Type

/**
 * A fresh random event id (a UUID v4).
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeId = (): EventId => randomUuid() as EventId // a UUID is always a valid id

/**
 * @since 0.1.0
 * @category models
 */
export type Metadata = { readonly [key: string]: unknown }

/**
 * Free-form data about an event (who, why, correlation), kept beside it and never interpreted by Concord: an object
 * (not an array or null), taken as it is. Declared rather than a `Schema.Record`, whose decoding and encoding build a
 * new object key by key: a `__proto__` key, which `JSON.parse` makes an own property, would become the copy's
 * prototype and vanish from it. Its values are checked by the stores (JSON only, `Event.maxDepth` deep at most).
 *
 * @since 0.1.0
 * @category schemas
 */
export const Metadata: Schema.Schema<Metadata> = Schema.declare(
  (u: unknown): u is Metadata => typeof u === "object" && u !== null && !Array.isArray(u),
  {
    identifier: "Metadata",
    description: "Free-form data about an event, as a JSON object",
    jsonSchema: { type: "object" }
  }
)

/**
 * The name of an event type as stored: a non-empty string of at most 256 characters (Unicode code points, as JSON
 * Schema's `maxLength` counts them: an emoji is one), with no NUL character and no unpaired UTF-16 surrogate (which no
 * store keeps exactly).
 *
 * @since 0.1.0
 * @category schemas
 */
export const EventType = Schema.String.pipe(
  Schema.minLength(1, { message: () => "an event type must not be empty" }),
  maxCodePoints(256, "an event type must be at most 256 characters (Unicode code points)"),
  Schema.filter(storable("an event type")),
  Schema.annotations({ identifier: "EventType" })
)

/**
 * An event in the store's encoded form: its type (the domain event's `_tag`) and its data (the encoded domain event
 * without its `_tag`). What {@link encode} gives and {@link decode} takes, what conflict rules are checked against,
 * and the part every {@link EventData} has, as does every {@link RecordedEvent} of a raw store.
 *
 * @since 0.1.0
 * @category models
 */
export interface EncodedEvent<out Type extends string = string> {
  readonly type: Type
  readonly data: unknown
}

/**
 * An event a writer proposes, in the store's encoded form: its type, its JSON data (the encoded event without its
 * `_tag`), and optionally an id and metadata. This is what stores and the HTTP service accept.
 *
 * @since 0.1.0
 * @category schemas
 */
export const EventData = Schema.Struct({
  id: Schema.optional(EventId),
  type: EventType,
  data: Schema.Unknown,
  metadata: Schema.optional(Metadata)
}).annotations({ identifier: "EventData" })

/**
 * How deeply event data and metadata may nest: JSON with more than 64 arrays or objects inside one another is refused
 * with `InvalidEventData`. Real event data is a few levels deep; far deeper data is almost certainly hostile, and
 * every store and the service must refuse it without recursing as deep as it goes, which would overflow the stack.
 * What is stored within the limit may then be walked recursively (`JSON.stringify`, a `sameKey` rule's comparison).
 *
 * @since 0.3.0
 * @category limits
 */
export const maxDepth = 64

/**
 * @since 0.1.0
 * @category models
 */
export interface EventData extends Schema.Schema.Type<typeof EventData> {}

/**
 * A typed event a writer proposes: the domain event, and optionally an id and metadata.
 *
 * @since 0.1.0
 * @category models
 */
export interface ProposedEvent<out A extends Tagged> {
  readonly id?: EventId | undefined
  readonly event: A
  readonly metadata?: Metadata | undefined
}

/**
 * An event as a store recorded it, with its data in encoded form.
 *
 * @since 0.1.0
 * @category schemas
 */
export const RecordedEvent = Schema.Struct({
  id: EventId,
  streamId: StreamId.StreamId,
  version: StreamVersion.StreamVersion,
  type: Schema.String,
  data: Schema.Unknown,
  metadata: Metadata,
  recordedAt: Schema.Date,
  position: Position.FromString
}).annotations({ identifier: "RecordedEvent" })

/**
 * An event as a store recorded it. `data` is the encoded JSON data in a raw store, and the decoded domain event in a
 * typed one.
 *
 * @since 0.1.0
 * @category models
 */
export interface RecordedEvent<out Data = unknown> {
  readonly id: EventId
  readonly streamId: StreamId.StreamId
  readonly version: StreamVersion.StreamVersion
  readonly type: string
  readonly data: Data
  readonly metadata: Metadata
  readonly recordedAt: Date
  /** The event's place in the store's global log. */
  readonly position: Position.Position
}

/**
 * The event types a domain Schema declares, read from its `_tag` literals.
 *
 * @since 0.1.0
 * @category introspection
 */
export const tags: <A extends Tagged>(schema: EventSchema<A>) => ReadonlyArray<Tag<A>> = internal.tags

/**
 * Encodes a domain event to the store's form: its `_tag` becomes the type, the rest of the encoded event the data.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encode = <A extends Tagged>(
  schema: EventSchema<A>
): (event: A) => Effect.Effect<EncodedEvent<Tag<A>>, ParseResult.ParseError> => {
  const encodeEvent = Schema.encode(schema)
  return (event) => Effect.map(encodeEvent(event), internal.split)
}

/**
 * Decodes an event from the store's form back to the domain event.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decode = <A extends Tagged>(
  schema: EventSchema<A>
): (event: EncodedEvent) => Effect.Effect<A, ParseResult.ParseError> => {
  const decodeEvent = Schema.decodeUnknown(schema)
  return (event) => decodeEvent(internal.join(event))
}
