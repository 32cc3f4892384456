// Client histories for the read model's tests: random and known ones, what the read model must show for them (the
// fold of each stream's events), and how to write them to a store and wait for the read model's consumer.
import {
  type Checkpoints,
  Consumer,
  Event,
  EventStore,
  ExpectedVersion,
  Position,
  StreamId,
  StreamVersion
} from "@concord/core"
import { ClientSummary, Events, ReadModel, Registry } from "@concord/example-crm"
import { Arbitrary, Chunk, Effect, FastCheck as fc, Option, Schedule, Stream } from "effect"

export type History = ReadonlyArray<readonly [string, Events.CrmEvent]>

const streams = ["client-a", "client-b", "client-c"]

/** Random histories: CRM events of every kind, in any order (none need come first), over a few client streams. */
export const histories = fc.array(fc.tuple(fc.constantFrom(...streams), Arbitrary.make(Events.CrmEvent)), {
  maxLength: 40
})

const encode = Event.encode(Events.CrmEvent)

/** The history as a store records it: versions counted per stream, positions in log order. */
export const recorded = (history: History) => {
  const versions = new Map<string, number>()
  return Effect.forEach(
    history,
    ([streamId, event], i) =>
      Effect.map(encode(event), ({ data, type }): Event.RecordedEvent => {
        const version = (versions.get(streamId) ?? 0) + 1
        versions.set(streamId, version)
        return {
          id: Event.makeId(),
          streamId: StreamId.make(streamId),
          version: StreamVersion.make(version),
          type,
          data,
          metadata: {},
          recordedAt: new Date(0),
          position: Position.make({ sequence: BigInt(i + 1) })
        }
      })
  )
}

/** What the table must hold: the fold of each stream's events, for the streams that have any. */
export const folded = (history: History): ReadonlyArray<ClientSummary.ClientSummary> =>
  [...new Set(history.map(([streamId]) => streamId))].sort().map((streamId) =>
    ClientSummary.fold(streamId, history.filter(([id]) => id === streamId).map(([, event]) => event))
  )

export const rowsOf = (prefix: string) =>
  Effect.map(ReadModel.list, (rows) => rows.filter((row) => row.streamId.startsWith(prefix)))

/** A known history over three streams of 50 events each, the first a registration, a third of the rest notes. */
export const knownHistory = (prefix: string): History =>
  Array.from({ length: 50 }, (_, n) =>
    [0, 1, 2].map((s): readonly [string, Events.CrmEvent] => {
      const streamId = `${prefix}${s}`
      if (n === 0) return [streamId, Events.ClientRegistered.make({ name: `client ${s}`, value: 10 })]
      if (n % 3 === 1) {
        return [streamId, Events.MeetingNoteAdded.make({ noteId: `n${n}`, author: "joe", text: `note ${n}` })]
      }
      if (n % 3 === 2) return [streamId, Events.ClientValueUpgraded.make({ value: 10 + n })]
      return [streamId, Events.ContactEmailChanged.make({ contactId: "alice", email: `alice${n}@test` })]
    })).flat()

/** Appends the history one event per append, in its order, which is therefore its order in the log. */
export const appendAll = (history: History) =>
  Effect.flatMap(
    EventStore.forDomain({ schema: Events.CrmEvent, registry: Registry.registry }),
    (store) =>
      Effect.forEach(
        history,
        ([streamId, event]) => store.append(StreamId.make(streamId), ExpectedVersion.any, [event]),
        { discard: true }
      )
  )

/** The recorded events of the streams under `prefix`, in log order. */
export const logOf = (prefix: string) =>
  Effect.flatMap(EventStore.EventStore, (store) => Stream.runCollect(store.readAll())).pipe(
    Effect.map((events) => Chunk.toArray(events).filter((event) => event.streamId.startsWith(prefix)))
  )

/** Waits until the read model's checkpoint is at `position` or past it. */
export const checkpointAt = (position: Position.Position): Effect.Effect<void, unknown, Checkpoints.Checkpoints> =>
  Consumer.checkpoint(ReadModel.consumer.name).pipe(
    Effect.flatMap((checkpoint) =>
      Option.exists(checkpoint, ({ position: at }) => !Position.isAfter(position, at))
        ? Effect.void
        : Effect.fail("behind" as const)
    ),
    Effect.retry(Schedule.spaced("20 millis")),
    Effect.timeoutFail({ duration: "30 seconds", onTimeout: () => "the consumer did not catch up" })
  )
