// The conformance suite's domain and helpers, shared by its topics (one file each, next to this one).
import { ConflictRegistry, Event, EventStore, type ExpectedVersion, StreamId } from "@concord/core"
import type { Vitest } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as Checker from "../../Checker.js"

/** The test methods of the suite's layer: every test gets the store under test as `EventStore.EventStore`. */
export type StoreTests = Vitest.MethodsNonLive<EventStore.EventStore>

/**
 * `Created` and `Deleted` conflict with everything, `Renamed` with itself and `Deleted`, `Noted` only with `Deleted`,
 * `Tagged` only with `Deleted` and a `Tagged` of the same tag, `Viewed` with nothing. Declarative rules only, so that
 * a store configured with its JSON document (the service) can apply it.
 */
export const registry = ConflictRegistry.untyped().pipe(
  ConflictRegistry.always("Created"),
  ConflictRegistry.always("Deleted"),
  ConflictRegistry.conflicts("Renamed", ["Renamed", "Deleted"]),
  ConflictRegistry.conflicts("Noted", ["Deleted"]),
  ConflictRegistry.conflicts("Tagged", ["Deleted"]),
  ConflictRegistry.conflictsWhen("Tagged", "Tagged", ConflictRegistry.sameKey("tag")),
  ConflictRegistry.never("Viewed")
)

/** The last name, every note (sorted) and the value of every tag (sorted by tag), as a JSON string. */
export const fold: Checker.Fold<string> = {
  initialState: JSON.stringify({ name: null, notes: [], tags: {} }),
  evolve: (encoded, event) => {
    const state = JSON.parse(encoded) as { name: unknown; notes: Array<string>; tags: Record<string, unknown> }
    const data = event.data as Record<string, unknown>
    if (event.type === "Renamed") state.name = data.name
    if (event.type === "Noted") state.notes = [...state.notes, String(data.note)].sort()
    if (event.type === "Tagged") state.tags[String(data.tag)] = data.value
    return JSON.stringify({ ...state, tags: Object.fromEntries(Object.entries(state.tags).sort()) })
  }
}

let streams = 0

export const freshStream = (label = "suite"): StreamId.StreamId =>
  StreamId.make(
    `${label}-${Date.now().toString(36)}-${(streams++).toString(36)}-${Math.random().toString(36).slice(2)}`
  )

export const event = (type: string, data: Record<string, unknown> = {}, id?: string): Event.EventData =>
  id === undefined ? { type, data } : { id: Event.EventId.make(id), type, data }

export const withId = (data: Event.EventData): Event.EventData & { readonly id: Event.EventId } => ({
  ...data,
  id: data.id ?? Event.makeId()
})

export const options = { registry }

export const readAll = (store: EventStore.Service, streamId: StreamId.StreamId) =>
  Effect.map(Stream.runCollect(store.read(streamId)), Chunk.toReadonlyArray)

export const logsOf = (store: EventStore.Service, streamIds: Iterable<StreamId.StreamId>) =>
  Effect.provideService(Checker.readLogs(streamIds), EventStore.EventStore, store)

export const attempt = (
  store: EventStore.Service,
  streamId: StreamId.StreamId,
  expectedVersion: ExpectedVersion.ExpectedVersion,
  events: ReadonlyArray<Event.EventData>,
  appendRegistry: ConflictRegistry.ConflictRegistry<any, any> = registry
): Effect.Effect<Checker.Attempt> => {
  const identified = events.map(withId)
  return store.append(streamId, expectedVersion, identified, { registry: appendRegistry }).pipe(
    Effect.match({
      onFailure: (error): Checker.Attempt["outcome"] => ({ _tag: "Rejected", error: error._tag }),
      onSuccess: (result): Checker.Attempt["outcome"] => ({ _tag: "Acknowledged", result })
    }),
    Effect.map((outcome) => ({ streamId, expectedVersion, events: identified, registry: appendRegistry, outcome }))
  )
}
