import { ConflictRegistry, Event, EventStore, ExpectedVersion, StreamId } from "@concord/core"
import { Events } from "@concord/example-crm"
import { Effect, Schema } from "effect"

// #region streams
const client = StreamId.make("client-acme") // throws on an invalid id: for ids the program builds itself
export const category = StreamId.category(client) // "client": the part before the first "-"

// For ids that come from outside the program, decode instead of throwing.
export const fromInput = (input: unknown) => Schema.decodeUnknown(StreamId.StreamId)(input)
// #endregion streams

// #region encoded
// A domain event is encoded for the store: its _tag becomes the type, the rest of it the data.
export const encoded = Event.encode(Events.CrmEvent)(Events.ClientValueUpgraded.make({ value: 500 }))
// succeeds with { type: "ClientValueUpgraded", data: { value: 500 } }
// #endregion encoded

// #region expected-versions
const registered = { type: "ClientRegistered", data: { name: "Acme", value: 100 } }
const upgraded = { type: "ClientValueUpgraded", data: { value: 500 } }

export const expectedVersions = Effect.gen(function*() {
  const store = yield* EventStore.EventStore
  // noStream: the stream must be empty (it is version 0).
  const created = yield* store.append(client, ExpectedVersion.noStream, [registered])
  // exact(n): the writer read the stream at version n.
  const next = yield* store.append(client, ExpectedVersion.exact(1), [upgraded])
  // any: no check at all.
  const unchecked = yield* store.append(client, ExpectedVersion.any, [upgraded])
  // A version the stream has not reached: the writer cannot have read it.
  const ahead = yield* Effect.flip(store.append(client, ExpectedVersion.exact(9), [upgraded]))
  return { created, next, unchecked, ahead }
}).pipe(Effect.provide(EventStore.layerMemory()))
// created:   { firstVersion: 1, lastVersion: 1, rebasedOver: 0 }
// next:      { firstVersion: 2, lastVersion: 2, rebasedOver: 0 }
// unchecked: { firstVersion: 3, lastVersion: 3, rebasedOver: 0 }
// ahead:     WrongExpectedVersion { expectedVersion: 9, actualVersion: 3 }
// #endregion expected-versions

// #region default-rule
const noted = (noteId: string) => ({ type: "MeetingNoteAdded", data: { noteId, author: "harry", text: "went well" } })

// A stale append: the writer read version 1, the stream is at version 2.
const staleNote = Effect.gen(function*() {
  const store = yield* EventStore.EventStore
  yield* store.append(client, ExpectedVersion.noStream, [registered])
  yield* store.append(client, ExpectedVersion.exact(1), [upgraded])
  return yield* store.append(client, ExpectedVersion.exact(1), [noted("n1")])
})

// No registry: every stale append conflicts, as with plain optimistic concurrency.
export const withoutRules = staleNote.pipe(Effect.provide(EventStore.layerMemory()))
// fails with ConcurrencyConflict: MeetingNoteAdded (proposed #0) conflicts with ClientValueUpgraded (version 2)

// A rule for MeetingNoteAdded: of the CRM's event types, it conflicts only with registering and archiving the client.
const rules = ConflictRegistry.make(Events.CrmEvent).pipe(
  ConflictRegistry.conflicts("MeetingNoteAdded", ["ClientRegistered", "ClientArchived"])
)
export const withRules = staleNote.pipe(Effect.provide(EventStore.layerMemory({ registry: rules })))
// succeeds with { firstVersion: 3, lastVersion: 3, rebasedOver: 1 }

// The same rule without the domain's Schema: the registry knows only the types it names, and ClientValueUpgraded,
// which it has never heard of, conflicts with the rule.
const untypedRules = ConflictRegistry.untyped().pipe(
  ConflictRegistry.conflicts("MeetingNoteAdded", ["ClientRegistered", "ClientArchived"])
)
export const withUntypedRules = staleNote.pipe(Effect.provide(EventStore.layerMemory({ registry: untypedRules })))
// fails with ConcurrencyConflict: MeetingNoteAdded (proposed #0) conflicts with ClientValueUpgraded (version 2)
// #endregion default-rule

// #region conflict
export const conflict = Effect.gen(function*() {
  const store = yield* EventStore.EventStore
  yield* store.append(client, ExpectedVersion.noStream, [registered])
  yield* store.append(client, ExpectedVersion.exact(1), [upgraded])
  // A batch of two, decided at version 1: the note may pass, the second upgrade may not.
  return yield* store.append(client, ExpectedVersion.exact(1), [noted("n1"), upgraded]).pipe(
    Effect.catchTag(
      "ConcurrencyConflict",
      (error) =>
        Effect.succeed(
          error.conflicts.map((pair) => `#${pair.proposedIndex} ${pair.proposedType} x ${pair.committedType}`)
        )
    )
  )
}).pipe(
  Effect.provide(EventStore.layerMemory({
    registry: rules.pipe(ConflictRegistry.conflicts("ClientValueUpgraded", ["ClientValueUpgraded"]))
  }))
)
// succeeds with ["#1 ClientValueUpgraded x ClientValueUpgraded"], and nothing of the batch was written
// #endregion conflict

// #region idempotency
export const resent = Effect.gen(function*() {
  const store = yield* EventStore.EventStore
  const batch = [{ ...registered, id: Event.EventId.make("acme-registered") }]
  const first = yield* store.append(client, ExpectedVersion.noStream, batch)
  // The same batch again, e.g. after a timeout: the original result, and nothing written twice.
  const again = yield* store.append(client, ExpectedVersion.noStream, batch)
  return { first, again, version: yield* store.version(client) }
}).pipe(Effect.provide(EventStore.layerMemory()))
// succeeds with first and again equal ({ firstVersion: 1, lastVersion: 1, rebasedOver: 0 }) and version 1
// #endregion idempotency
