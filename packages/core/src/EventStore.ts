/**
 * The event store service: streams of encoded events (a type string and JSON data), appended under expected
 * versions and the conflict registry, so that one store serves any domain and the HTTP service alike.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import type * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import type * as Stream from "effect/Stream"
import type { ConcurrencyConflict, WrongExpectedVersion } from "./Conflict.js"
import type { ConflictRegistry } from "./ConflictRegistry.js"
import type * as Event from "./Event.js"
import type {
  AppendTimeout,
  DuplicateEventId,
  InvalidArgument,
  InvalidEventData,
  StoreError,
  UndecodableEvent
} from "./EventStoreError.js"
import type { ExpectedVersion } from "./ExpectedVersion.js"
import * as internalFilter from "./internal/filter.js"
import * as internalMemory from "./internal/memoryStore.js"
import * as internalRead from "./internal/readBounds.js"
import * as internalTyped from "./internal/typedStore.js"
import type * as Position from "./Position.js"
import * as StreamId from "./StreamId.js"
import * as StreamVersion from "./StreamVersion.js"

/**
 * What an append did: the versions of its first and last events (for an empty batch `lastVersion` is the current
 * version and `firstVersion` the one after it), and how many committed events it went past because the registry let
 * it (0 when the writer was up to date).
 *
 * @since 0.1.0
 * @category models
 */
export const AppendResult = Schema.Struct({
  streamId: StreamId.StreamId,
  firstVersion: StreamVersion.StreamVersion,
  lastVersion: StreamVersion.StreamVersion,
  rebasedOver: Schema.NonNegativeInt
}).annotations({ identifier: "AppendResult" })

/**
 * @since 0.1.0
 * @category models
 */
export interface AppendResult extends Schema.Schema.Type<typeof AppendResult> {}

/**
 * @since 0.1.0
 * @category models
 */
export interface AppendOptions {
  /** The rules for this append instead of the store's: rules belong to commands too. */
  readonly registry?: ConflictRegistry<any, any> | undefined
}

/**
 * Which events a read returns: those with versions from `from` on, at most `limit` of them. Every store (and the
 * remote client) reads by the same rule, {@link readBounds}; nothing is refused, every number means something:
 *
 * - `from`: absent or `NaN` reads from version 1, as does anything below 1 (0, negative numbers, `-Infinity`); a
 *   fraction is rounded up to the next version; past {@link StreamVersion.max} (`Infinity` included) nothing is read.
 * - `limit`: absent, `NaN` or `Infinity` is no limit; 0 or below reads nothing; a fraction is rounded down.
 *
 * A read past a stream's end, or of a stream that does not exist, is empty.
 *
 * @since 0.1.0
 * @category models
 */
export interface ReadOptions {
  /** The version of the first event to read (default 1). */
  readonly from?: number | undefined
  /** At most this many events (default: no limit). */
  readonly limit?: number | undefined
}

/**
 * A read's options as every store applies them: whole numbers, `from` between 1 and `StreamVersion.max + 1` and
 * `limit` finite, so that `from + limit - 1` never passes `StreamVersion.max` (a read that gets nothing has `limit` 0).
 *
 * @since 0.1.0
 * @category models
 */
export interface ReadBounds {
  readonly from: StreamVersion.StreamVersion
  readonly limit: number
}

/**
 * The one reading of {@link ReadOptions} that every store applies, for authors of stores and clients.
 *
 * @since 0.1.0
 * @category reading
 */
export const readBounds: (options?: ReadOptions) => ReadBounds = internalRead.readBounds

/**
 * The most events one read of the service returns, and what a read without `limit` gets from it; the remote client
 * reads in pages of this size.
 *
 * @since 0.1.0
 * @category reading
 */
export const readPageSize = 10_000

/**
 * Which events of the global log a reader wants. An event matches when its type is one of `types` (if given) and
 * its stream's category (`StreamId.category`: the part of the id before the first `-`) is one of `categories` (if
 * given). A filter without either matches every event; an empty list matches none.
 *
 * @since 0.2.0
 * @category models
 */
export interface Filter {
  readonly types?: ReadonlyArray<string> | undefined
  readonly categories?: ReadonlyArray<string> | undefined
}

/**
 * Whether an event matches a filter (every event matches no filter), by the rule every store applies.
 *
 * @since 0.2.0
 * @category reading
 */
export const matches: {
  (filter: Filter | undefined): (event: Pick<Event.RecordedEvent, "type" | "streamId">) => boolean
  (event: Pick<Event.RecordedEvent, "type" | "streamId">, filter: Filter | undefined): boolean
} = dual(2, internalFilter.matches)

/**
 * What `readAll` reads: the events after `after` (from the start of the log without it) that match `filter`, at
 * most `limit` of them (read as {@link ReadOptions}' `limit` is).
 *
 * @since 0.2.0
 * @category models
 */
export interface ReadAllOptions {
  readonly after?: Position.Position | undefined
  readonly limit?: number | undefined
  readonly filter?: Filter | undefined
}

/**
 * Where a subscription starts: after a position, at the start of the log without one, or at `"end"` (only events
 * committed from now on); and which events it delivers.
 *
 * @since 0.2.0
 * @category models
 */
export interface SubscribeOptions {
  readonly after?: Position.Position | "end" | undefined
  readonly filter?: Filter | undefined
}

/**
 * The store's own errors, defined in `EventStoreError` and named here too.
 *
 * @since 0.1.0
 * @category errors
 */
export {
  AppendTimeout,
  DuplicateEventId,
  InvalidArgument,
  InvalidEventData,
  StoreError,
  UndecodableEvent
} from "./EventStoreError.js"

/**
 * Every way an append can fail.
 *
 * @since 0.1.0
 * @category errors
 */
export type AppendError =
  | ConcurrencyConflict
  | WrongExpectedVersion
  | DuplicateEventId
  | InvalidEventData
  | InvalidArgument
  | StoreError
  | AppendTimeout

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /**
   * Appends a batch atomically. With an exact expected version behind the stream's end, only the events committed
   * since are read and checked against the registry: when no pair clashes the batch goes after the current end,
   * otherwise nothing is written and the error names every pair. Re-sending a batch whose ids are stored at those
   * versions returns the original result.
   *
   * Every store checks its arguments at run time before anything is read or written, whatever the caller's types
   * said (`StoreBackend.validate`): a stream id `StreamId` would refuse, or an expected version that is not `any` or
   * an exact whole number from 0 to `StreamVersion.max`, fails with `InvalidArgument`; an event type or id no store
   * keeps exactly, or data or metadata JSON cannot carry exactly, with `InvalidEventData` naming the event's index;
   * an id twice in the batch, with `DuplicateEventId`.
   */
  readonly append: (
    streamId: StreamId.StreamId,
    expectedVersion: ExpectedVersion,
    events: ReadonlyArray<Event.EventData>,
    options?: AppendOptions
  ) => Effect.Effect<AppendResult, AppendError>
  /**
   * The events of a stream in version order, within the options as {@link readBounds} reads them. A stream id
   * `StreamId` would refuse fails with `InvalidArgument` before anything is read.
   */
  readonly read: (
    streamId: StreamId.StreamId,
    options?: ReadOptions
  ) => Stream.Stream<Event.RecordedEvent, StoreError | InvalidArgument>
  /**
   * Every committed event in the order of the global log (`Position.Order`), after a position and matching a filter.
   * Only events no later commit can precede are read: on PostgreSQL an event waits while a transaction that began
   * before its own is still open. Options that are not what their types say (an `after` that is not a `Position`, a
   * filter whose lists are not lists of strings) fail with `InvalidArgument` before anything is read.
   */
  readonly readAll: (options?: ReadAllOptions) => Stream.Stream<Event.RecordedEvent, StoreError | InvalidArgument>
  /**
   * The global log as `readAll` reads it, caught up and then followed live: the stream never ends on its own. Each
   * matching committed event is delivered exactly once, in position order, with no gap or repeat at the switch
   * from catching up to live. It reads from the store as the subscriber pulls, so a slow subscriber makes nothing
   * buffer; interrupting it releases everything it held.
   */
  readonly subscribe: (options?: SubscribeOptions) => Stream.Stream<Event.RecordedEvent, StoreError | InvalidArgument>
  /**
   * The current version of a stream (0 when it has no events). A stream id `StreamId` would refuse fails with
   * `InvalidArgument` before anything is read.
   */
  readonly version: (
    streamId: StreamId.StreamId
  ) => Effect.Effect<StreamVersion.StreamVersion, StoreError | InvalidArgument>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class EventStore extends Context.Tag("@concord/core/EventStore")<EventStore, Service>() {}

/**
 * Options shared by every store's `make` and `layer`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The registry appends use unless they bring their own; without one every stale append conflicts. */
  readonly registry?: ConflictRegistry<any, any> | undefined
}

/**
 * An in-memory store, correct under any number of concurrent fibers: appends to one stream are serialised, and
 * the semantics are those of every other store.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory = (options?: Options): Effect.Effect<Service> => internalMemory.make(options)

/**
 * @since 0.1.0
 * @category layers
 */
export const layerMemory = (options?: Options): Layer.Layer<EventStore> => internalMemory.layer(EventStore, options)

// -----------------------------------------------------------------------------
// typed facade
// -----------------------------------------------------------------------------

/**
 * A store seen through one domain: typed events in, typed events out, encoded and decoded with the domain's Schema,
 * and appended under the domain's registry.
 *
 * @since 0.1.0
 * @category models
 */
export interface Typed<A extends Event.Tagged> {
  readonly schema: Event.EventSchema<A>
  readonly registry: ConflictRegistry<A, any>
  readonly append: (
    streamId: StreamId.StreamId,
    expectedVersion: ExpectedVersion,
    events: ReadonlyArray<A | Event.ProposedEvent<A>>,
    options?: { readonly registry?: ConflictRegistry<A, any> | undefined }
  ) => Effect.Effect<AppendResult, AppendError>
  readonly read: (
    streamId: StreamId.StreamId,
    options?: ReadOptions
  ) => Stream.Stream<Event.RecordedEvent<A>, StoreError | InvalidArgument | UndecodableEvent>
  /**
   * The domain's events of the global log, decoded: `readAll` with the filter's types narrowed to the domain's (all of
   * them without a `types` list).
   */
  readonly readAll: (
    options?: ReadAllOptions
  ) => Stream.Stream<Event.RecordedEvent<A>, StoreError | InvalidArgument | UndecodableEvent>
  /** The domain's events of the global log, decoded, caught up and followed live as `subscribe` does. */
  readonly subscribe: (
    options?: SubscribeOptions
  ) => Stream.Stream<Event.RecordedEvent<A>, StoreError | InvalidArgument | UndecodableEvent>
  readonly version: (
    streamId: StreamId.StreamId
  ) => Effect.Effect<StreamVersion.StreamVersion, StoreError | InvalidArgument>
}

/**
 * The typed facade over a store.
 *
 * @since 0.1.0
 * @category constructors
 */
export const typed: {
  <A extends Event.Tagged>(options: {
    readonly schema: Event.EventSchema<A>
    readonly registry: ConflictRegistry<A, any>
  }): (store: Service) => Typed<A>
  <A extends Event.Tagged>(store: Service, options: {
    readonly schema: Event.EventSchema<A>
    readonly registry: ConflictRegistry<A, any>
  }): Typed<A>
} = dual(2, <A extends Event.Tagged>(store: Service, options: {
  readonly schema: Event.EventSchema<A>
  readonly registry: ConflictRegistry<A, any>
}): Typed<A> => internalTyped.make(store, options))

/**
 * The typed facade over the `EventStore` in context.
 *
 * @since 0.1.0
 * @category constructors
 */
export const forDomain = <A extends Event.Tagged>(options: {
  readonly schema: Event.EventSchema<A>
  readonly registry: ConflictRegistry<A, any>
}): Effect.Effect<Typed<A>, never, EventStore> => Effect.map(EventStore, (store) => internalTyped.make(store, options))
