import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as ConflictRegistry from "../ConflictRegistry.js"
import type { EventId, RecordedEvent } from "../Event.js"
import type { EventStore, Options, Service } from "../EventStore.js"
import { DuplicateEventId } from "../EventStore.js"
import type { StreamId } from "../StreamId.js"
import * as StreamVersion from "../StreamVersion.js"
import * as Append from "./append.js"

interface MemoryStream {
  readonly events: Array<RecordedEvent>
  readonly lock: Effect.Semaphore
}

/** @internal */
export const make = (options?: Options): Effect.Effect<Service> =>
  Effect.sync(() => {
    const registry = options?.registry ?? ConflictRegistry.untyped()
    const streams = new Map<string, MemoryStream>()
    const ids = new Map<string, Append.StoredId>()

    const streamOf = (streamId: StreamId): MemoryStream => {
      let stream = streams.get(streamId)
      if (stream === undefined) {
        stream = { events: [], lock: Effect.unsafeMakeSemaphore(1) }
        streams.set(streamId, stream)
      }
      return stream
    }

    const backend = (streamId: StreamId, stream: MemoryStream): Append.Backend => ({
      currentVersion: Effect.sync(() => StreamVersion.unsafeMake(stream.events.length)),
      committedAfter: (version, except) =>
        Effect.sync(() => {
          const after = stream.events.slice(version)
          return except.length === 0
            ? after
            : after.filter((event) => !except.includes(event.type))
        }),
      findIds: (wanted) => Effect.sync(() => wanted.flatMap((id) => ids.get(id) ?? [])),
      write: (records, batch) =>
        Effect.suspend(() => {
          // Ids are unique across streams, which the per-stream lock does not cover: check again where the write
          // itself is atomic (one synchronous step), as a database's unique constraint would.
          const taken = records.flatMap((record) => ids.has(record.id) ? [record.id] : [])
          if (taken.length > 0) return Effect.fail(new DuplicateEventId({ streamId, eventIds: taken }))
          for (const record of records) {
            // Stored events are frozen copies: nothing the caller does later can change the log. The data was checked to
            // be plain JSON, which a JSON round trip copies faster than structuredClone.
            const frozen = deepFreeze({
              ...record,
              data: JSON.parse(JSON.stringify(record.data)),
              metadata: JSON.parse(JSON.stringify(record.metadata))
            })
            stream.events.push(frozen)
            ids.set(record.id, { id: record.id as EventId, version: record.version, batch })
          }
          return Effect.void
        })
    })

    const service: Service = {
      append: (streamId, expected, events, appendOptions) => {
        const stream = streamOf(streamId)
        return stream.lock.withPermits(1)(
          Append.append(backend(streamId, stream), appendOptions?.registry ?? registry, streamId, expected, events)
        )
      },
      read: (streamId, readOptions) =>
        Stream.suspend(() => {
          const events = streams.get(streamId)?.events ?? []
          const from = Math.max(1, readOptions?.from ?? 1)
          const end = readOptions?.limit === undefined ? undefined : from - 1 + Math.max(0, readOptions.limit)
          return Stream.fromIterable(events.slice(from - 1, end))
        }),
      version: (streamId) => Effect.sync(() => StreamVersion.unsafeMake(streams.get(streamId)?.events.length ?? 0))
    }
    return service
  })

const deepFreeze = <A>(value: A): A => {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const item of Object.values(value)) deepFreeze(item)
  }
  return value
}

/** @internal */
export const layer = (tag: typeof EventStore, options?: Options): Layer.Layer<EventStore> =>
  Layer.effect(tag, make(options))
