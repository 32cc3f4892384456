// #region store
import { ConflictRegistry, EventStore, Position, StoreBackend, StreamVersion } from "@concord/core"
import type { Event, StreamId } from "@concord/core"
import { Effect, Layer, Stream } from "effect"

// A store that keeps each stream in a Map: StoreBackend.append brings the semantics every store shares (validation,
// idempotency, version checks, conflict detection); the store brings storage and a critical section per stream.
// StoreBackend.readAll and subscribe bring the read side; the store brings its global log and a commit signal.
export const makeMapStore = (options?: EventStore.Options): Effect.Effect<EventStore.Service> =>
  Effect.sync(() => {
    const registry = options?.registry ?? ConflictRegistry.untyped()
    const streams = new Map<string, Array<Event.RecordedEvent>>()
    const locks = new Map<string, Effect.Semaphore>()
    const ids = new Map<string, StoreBackend.StoredId>()
    const log: Array<Event.RecordedEvent> = [] // the global log: an event's position is its index + 1
    const signal = StoreBackend.makeCommitSignal()

    const lockOf = (streamId: StreamId.StreamId) => {
      const lock = locks.get(streamId) ?? Effect.unsafeMakeSemaphore(1)
      locks.set(streamId, lock)
      return lock
    }

    const backend = (streamId: StreamId.StreamId): StoreBackend.Backend => {
      const events = () => streams.get(streamId) ?? []
      return {
        currentVersion: Effect.sync(() => StreamVersion.make(events().length)),
        // The events after `version`; those of the types in `except` cannot clash with the batch and are left out.
        committedAfter: (version, except) =>
          Effect.sync(() => events().slice(version).filter((event) => !except.includes(event.type))),
        findIds: (wanted) => Effect.sync(() => wanted.flatMap((id) => ids.get(id) ?? [])),
        write: (records, batch) =>
          Effect.suspend(() => {
            // Event ids are unique across streams, which the stream's lock does not cover: check where the write is
            // one synchronous step.
            const taken = records.filter((record) => ids.has(record.id)).map((record) => record.id)
            if (taken.length > 0) return Effect.fail(new EventStore.DuplicateEventId({ streamId, eventIds: taken }))
            // Copies, so that nothing the caller changes later reaches the log; each gets the next position.
            const stored = records.map((record, i) => ({
              ...structuredClone(record),
              position: Position.make({ sequence: BigInt(log.length + i + 1) })
            }))
            streams.set(streamId, [...events(), ...stored])
            log.push(...stored)
            for (const record of records) ids.set(record.id, { id: record.id, version: record.version, batch })
            signal.notify() // wakes live subscribers
            return Effect.void
          })
      }
    }

    // Commits are one synchronous step here, so the log's order is final as soon as an event is in it.
    const liveLog: StoreBackend.LiveLog = {
      readAfter: (after, limit, filter) =>
        Effect.sync(() => {
          const events = log.slice(Number(after.sequence)).filter(EventStore.matches(filter)).slice(0, limit)
          return { events, through: events.at(-1)?.position ?? after }
        }),
      end: Effect.sync(() => log.at(-1)?.position ?? Position.start),
      signal
    }

    return {
      append: (streamId, expected, events, appendOptions) =>
        lockOf(streamId).withPermits(1)(
          StoreBackend.append(backend(streamId), appendOptions?.registry ?? registry, streamId, expected, events)
        ),
      // A stream id cast from any string is refused as every store refuses it, before anything is read.
      read: (streamId, readOptions) =>
        Stream.unwrap(Effect.map(StoreBackend.validateStreamId("read", streamId), () => {
          // The bounds every store reads by: whole numbers whatever the caller passed (NaN, fractions, negatives).
          const { from, limit } = EventStore.readBounds(readOptions)
          return Stream.fromIterable((streams.get(streamId) ?? []).slice(from - 1, from - 1 + limit))
        })),
      readAll: (readAllOptions) => StoreBackend.readAll(liveLog, readAllOptions),
      subscribe: (subscribeOptions) => StoreBackend.subscribe(liveLog, subscribeOptions),
      version: (streamId) =>
        Effect.map(
          StoreBackend.validateStreamId("version", streamId),
          () => StreamVersion.make(streams.get(streamId)?.length ?? 0)
        )
    }
  })

export const layerMapStore = (options?: EventStore.Options) =>
  Layer.effect(EventStore.EventStore, makeMapStore(options))
// #endregion store
