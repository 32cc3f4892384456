import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import type * as Conflict from "../Conflict.js"
import * as ConflictRegistry from "../ConflictRegistry.js"
import type { Metadata, RecordedEvent } from "../Event.js"
import type { AppendResult, EventStore, Options, Service } from "../EventStore.js"
import * as Position from "../Position.js"
import type { StreamId } from "../StreamId.js"
import * as StreamVersion from "../StreamVersion.js"
import * as Append from "./append.js"
import * as Rules from "./appendRules.js"
import { matches } from "./filter.js"
import { frozenCopy } from "./json.js"
import * as internalPosition from "./position.js"
import { readBounds } from "./readBounds.js"
import * as Subscription from "./subscription.js"
import { validateStreamId } from "./validation.js"

/**
 * An event as the store keeps it: everything its {@link RecordedEvent} holds but the position, which is its place in
 * the log (`sequence`), and the versions and rebase of the append that wrote it as numbers rather than an object.
 * Nothing outside the store sees one: a read builds the frozen RecordedEvent. An event the store keeps is copied by
 * the garbage collector until it is old, so it is as few objects as it can be: this one, its id, and its data.
 */
interface Kept extends Conflict.Committed {
  readonly streamId: StreamId
  readonly metadata: Metadata
  readonly recordedAt: Date
  readonly sequence: number
  readonly firstVersion: StreamVersion.StreamVersion
  readonly lastVersion: StreamVersion.StreamVersion
  readonly rebasedOver: number
}

const noEvents: ReadonlyArray<Kept> = []

/** The position of a kept event: commit 0 (the store commits one append at a time), and its sequence in the log. */
const positionOf = (kept: Kept): Position.Position => internalPosition.unsafeMake(0n, BigInt(kept.sequence))

/** A kept event as a read returns it: frozen, with its data and metadata (frozen copies) shared with the store. */
const recorded = (kept: Kept): RecordedEvent =>
  Object.freeze({
    id: kept.id,
    streamId: kept.streamId,
    version: kept.version,
    type: kept.type,
    data: kept.data,
    metadata: kept.metadata,
    recordedAt: kept.recordedAt,
    position: positionOf(kept)
  })

/**
 * The same string, stored flat. An id the caller built by concatenation is one V8 keeps as a tree of its pieces until
 * a character is read: reading one flattens the string in place. The store keeps every id for good, and the garbage
 * collector walks what it keeps, so it reads one (`Event.makeId` builds its ids flat already).
 */
const flat = <S extends string>(text: S): S => {
  text.charCodeAt(0)
  return text
}

interface MemoryStream {
  /** The stream's id as its first append gave it: every event of the stream shares this one string. */
  readonly id: StreamId
  readonly events: Array<Kept>
}

/** @internal */
export const make = (options?: Options): Effect.Effect<Service> =>
  Effect.sync(() => {
    const registry = options?.registry ?? ConflictRegistry.untyped()
    const streams = new Map<string, MemoryStream>()
    // Each id's event. Events are indexed when an append first asks for ids (one that brings its own), not at each
    // write: most appends let the store choose the ids, and indexing every event costs about as much as the rest of
    // the append.
    const ids = new Map<string, Kept>()
    // The global log: commits are the log's order, so an event's position is its sequence number, its index + 1.
    const log: Array<Kept> = []
    // The events of the log from this index on are not in `ids` yet.
    let unindexed = 0
    // Batches written in the same millisecond share one frozen Date: the store keeps one per millisecond at most.
    let lastRecordedAt: Date | undefined
    const keptDate = (millis: number): Date =>
      lastRecordedAt !== undefined && lastRecordedAt.getTime() === millis
        ? lastRecordedAt
        : (lastRecordedAt = Object.freeze(new Date(millis)))
    const signal = Subscription.makeCommitSignal()

    // Every operation completes at once, so each append (check and write) is one synchronous step that no other
    // fiber can interleave with: no per-stream lock is needed, and ids are unique across streams because
    // `findIds` sees every stream as it is at the write.
    const backend: Append.SyncReads = {
      currentVersion: (streamId) => StreamVersion.unsafeMake(streams.get(streamId)?.events.length ?? 0),
      committedAfter: (streamId, version, except) => {
        const after = (streams.get(streamId)?.events ?? noEvents).slice(version)
        return except.length === 0 ? after : after.filter((event) => !except.includes(event.type))
      },
      findIds: (wanted) => {
        for (; unindexed < log.length; unindexed++) ids.set(log[unindexed]!.id, log[unindexed]!)
        let found: Array<Append.StoredId> | undefined
        for (const id of wanted) {
          const kept = ids.get(id)
          if (kept === undefined) continue
          const { firstVersion, lastVersion, rebasedOver, streamId } = kept
          const batch: AppendResult = { streamId, firstVersion, lastVersion, rebasedOver }
          ;(found ??= []).push({ id: kept.id, version: kept.version, batch })
        }
        return found ?? []
      }
    }

    // Each event is kept as it is built, from the caller's: no PendingEvent in between.
    const writeBatch: Append.WriteBatch<Append.SyncReads> = (_reads, streamId, current, events, recordedAt, batch) => {
      let stream = streams.get(streamId)
      if (stream === undefined) {
        stream = { id: streamId, events: [] }
        streams.set(streamId, stream)
      }
      const date = keptDate(recordedAt)
      for (let i = 0; i < events.length; i++) {
        const event = events[i]!
        // Data and metadata are frozen copies: nothing the caller does later can change the log.
        const kept: Kept = {
          id: flat(Rules.idOf(event)),
          streamId: stream.id,
          version: StreamVersion.unsafeMake(current + 1 + i),
          type: event.type,
          data: frozenCopy(event.data),
          metadata: event.metadata === undefined ? Rules.noMetadata : frozenCopy(event.metadata) as Metadata,
          recordedAt: date,
          sequence: log.length + 1,
          firstVersion: batch.firstVersion,
          lastVersion: batch.lastVersion,
          rebasedOver: batch.rebasedOver
        }
        log.push(kept)
        stream.events.push(kept)
      }
      signal.notify()
    }

    const liveLog: Subscription.LiveLog = {
      readAfter: (after, limit, filter) =>
        Effect.sync(() => {
          // Positions of this store have commit 0; one with a later commit, or past the end, is past its whole log.
          const from = after.commit === 0n && after.sequence < log.length ? Number(after.sequence) : log.length
          let index = from
          const events: Array<RecordedEvent> = []
          for (; index < log.length && events.length < limit; index++) {
            if (matches(log[index]!, filter)) events.push(recorded(log[index]!))
          }
          const through = index === from ? after : Position.max(after, positionOf(log[index - 1]!))
          return { events, through }
        }),
      end: Effect.sync(() => log.length === 0 ? Position.start : positionOf(log[log.length - 1]!)),
      signal
    }

    const service: Service = {
      // One step that reads the fiber's Clock and appends (an Either is an Effect): the least an append can cost a fiber.
      append: (streamId, expected, events, appendOptions) =>
        Effect.withFiberRuntime((fiber) =>
          Append.appendSyncWith(
            backend,
            writeBatch,
            Context.get(fiber.currentDefaultServices, Clock.Clock),
            appendOptions?.registry ?? registry,
            streamId,
            expected,
            events
          )
        ),
      read: (streamId, readOptions) =>
        Stream.unwrap(Effect.map(validateStreamId("read", streamId), () => {
          const events = streams.get(streamId)?.events ?? noEvents
          const { from, limit } = readBounds(readOptions)
          return Stream.fromIterable(events.slice(from - 1, from - 1 + limit).map(recorded))
        })),
      readAll: (readAllOptions) => Subscription.readAll(liveLog, readAllOptions),
      subscribe: (subscribeOptions) => Subscription.subscribe(liveLog, subscribeOptions),
      version: (streamId) =>
        Effect.map(
          validateStreamId("version", streamId),
          () => StreamVersion.unsafeMake(streams.get(streamId)?.events.length ?? 0)
        )
    }
    return service
  })

/** @internal */
export const layer = (tag: typeof EventStore, options?: Options): Layer.Layer<EventStore> =>
  Layer.effect(tag, make(options))
