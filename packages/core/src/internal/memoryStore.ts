import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as ConflictRegistry from "../ConflictRegistry.js"
import type { RecordedEvent } from "../Event.js"
import type { AppendResult, EventStore, Options, Service } from "../EventStore.js"
import * as Position from "../Position.js"
import * as StreamVersion from "../StreamVersion.js"
import * as Append from "./append.js"
import { matches } from "./filter.js"
import { frozenCopy } from "./json.js"
import * as internalPosition from "./position.js"
import { readBounds } from "./readBounds.js"
import * as Subscription from "./subscription.js"
import { validateStreamId } from "./validation.js"

const noEvents: ReadonlyArray<RecordedEvent> = []

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
  readonly events: Array<RecordedEvent>
  /** The result of the append that stored each event, by version - 1 (one slot, not one object, per event). */
  readonly batches: Array<AppendResult>
}

/** @internal */
export const make = (options?: Options): Effect.Effect<Service> =>
  Effect.sync(() => {
    const registry = options?.registry ?? ConflictRegistry.untyped()
    const streams = new Map<string, MemoryStream>()
    // Each id's event; the batch that stored it is its stream's, by version. Events are indexed when an append
    // first asks for ids (one that brings its own), not at each write: most appends let the store choose the ids,
    // and indexing every event costs about as much as the rest of the append.
    const ids = new Map<string, RecordedEvent>()
    // The global log: commits are the log's order, so an event's position is its sequence number, its index + 1.
    const log: Array<RecordedEvent> = []
    // The events of the log from this index on are not in `ids` yet.
    let unindexed = 0
    const signal = Subscription.makeCommitSignal()

    // Every operation completes at once, so each append (check and write) is one synchronous step that no other
    // fiber can interleave with: no per-stream lock is needed, and ids are unique across streams because
    // `findIds` sees every stream as it is at the write.
    const backend: Append.SyncBackend = {
      currentVersion: (streamId) => StreamVersion.unsafeMake(streams.get(streamId)?.events.length ?? 0),
      committedAfter: (streamId, version, except) => {
        const after = (streams.get(streamId)?.events ?? noEvents).slice(version)
        return except.length === 0 ? after : after.filter((event) => !except.includes(event.type))
      },
      findIds: (wanted) => {
        for (; unindexed < log.length; unindexed++) ids.set(log[unindexed]!.id, log[unindexed]!)
        let found: Array<Append.StoredId> | undefined
        for (const id of wanted) {
          const event = ids.get(id)
          if (event === undefined) continue
          const batch = streams.get(event.streamId)!.batches[event.version - 1]!
          ;(found ??= []).push({ id: event.id, version: event.version, batch })
        }
        return found ?? []
      },
      write: (streamId, records, batch) => {
        let stream = streams.get(streamId)
        if (stream === undefined) {
          stream = { events: [], batches: [] }
          streams.set(streamId, stream)
        }
        Object.freeze(records[0]?.recordedAt) // one Date per batch, or fewer (see appendRules' recordedAt)
        for (const record of records) {
          // Stored events are frozen copies: nothing the caller does later can change the log.
          const stored: RecordedEvent = Object.freeze({
            id: flat(record.id),
            streamId: record.streamId,
            version: record.version,
            type: record.type,
            data: frozenCopy(record.data),
            metadata: record.metadata === Append.noMetadata
              ? record.metadata
              : frozenCopy(record.metadata) as RecordedEvent["metadata"],
            recordedAt: record.recordedAt,
            position: internalPosition.unsafeMake(0n, BigInt(log.length + 1))
          })
          log.push(stored)
          stream.events.push(stored)
          stream.batches.push(batch)
        }
        signal.notify()
      }
    }

    const liveLog: Subscription.LiveLog = {
      readAfter: (after, limit, filter) =>
        Effect.sync(() => {
          // Positions of this store have commit 0; one with a later commit, or past the end, is past its whole log.
          const from = after.commit === 0n && after.sequence < log.length ? Number(after.sequence) : log.length
          let index = from
          const events: Array<RecordedEvent> = []
          for (; index < log.length && events.length < limit; index++) {
            if (matches(log[index]!, filter)) events.push(log[index]!)
          }
          const through = index === from ? after : Position.max(after, log[index - 1]!.position)
          return { events, through }
        }),
      end: Effect.sync(() => log[log.length - 1]?.position ?? Position.start),
      signal
    }

    const service: Service = {
      // One step that reads the fiber's Clock and appends (an Either is an Effect): the least an append can cost a fiber.
      append: (streamId, expected, events, appendOptions) =>
        Effect.withFiberRuntime((fiber) =>
          Append.appendSync(
            backend,
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
          return Stream.fromIterable(events.slice(from - 1, from - 1 + limit))
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
