import { CommandHandler, Conflict, ConflictRegistry, Event, EventStore, ExpectedVersion, StreamId } from "@concord/core"
import { Commands, Events } from "@concord/example-crm"
import { Effect, Either } from "effect"

// #region rules
// The client's lifecycle: a writer that missed it decided on a record that no longer is.
const lifecycle = ["ClientRegistered", "ClientArchived"] as const

export const registry = ConflictRegistry.make(Events.CrmEvent).pipe(
  // Registering and archiving conflict with everything (the default, said explicitly).
  ConflictRegistry.always("ClientRegistered"),
  ConflictRegistry.always("ClientArchived"),
  // A value change conflicts with any other value change: the later one would overwrite the earlier one.
  ConflictRegistry.conflicts("ClientValueUpgraded", ["ClientValueUpgraded", ...lifecycle]),
  ConflictRegistry.conflicts("ClientValueDowngraded", ["ClientValueDowngraded", ...lifecycle]),
  ConflictRegistry.mutual("ClientValueUpgraded", ["ClientValueDowngraded"]),
  // A meeting note conflicts only with the lifecycle.
  ConflictRegistry.conflicts("MeetingNoteAdded", lifecycle),
  // Two email changes conflict only when they change the same contact.
  ConflictRegistry.conflicts("ContactEmailChanged", lifecycle),
  ConflictRegistry.conflictsWhen("ContactEmailChanged", "ContactEmailChanged", ConflictRegistry.sameKey("contactId")),
  // Compiles only when every event type of the domain has a rule.
  ConflictRegistry.exhaustive
)
// #endregion rules

// #region checking
const encode = (event: Events.CrmEvent) => Effect.runSync(Event.encode(Events.CrmEvent)(event))
const alice = encode(Events.ContactEmailChanged.make({ contactId: "alice", email: "alice@acme.test" }))
const bob = encode(Events.ContactEmailChanged.make({ contactId: "bob", email: "bob@acme.test" }))
const aliceAgain = encode(Events.ContactEmailChanged.make({ contactId: "alice", email: "a@acme.test" }))

// One pair: does the proposed event conflict with the committed one?
export const sameContact = ConflictRegistry.isConflict(registry, aliceAgain, alice) // true
export const otherContact = ConflictRegistry.isConflict(registry, aliceAgain, bob) // false

// A whole append: every clashing pair, as the store computes it.
const committed = [alice, bob].map((event, i) => ({ ...event, id: Event.makeId(), version: i + 1 }))
export const pairs = Conflict.detect(registry, committed as Array<Conflict.Committed>, [aliceAgain])
// [{ proposedIndex: 0, proposedType: "ContactEmailChanged", committedVersion: 1, ... }]
// #endregion checking

// #region typed
export const mistakes = ConflictRegistry.make(Events.CrmEvent).pipe(
  // @ts-expect-error "ClientRenamed" is not an event of the domain
  ConflictRegistry.never("ClientRenamed"),
  // @ts-expect-error MeetingNoteAdded has no contactId field
  ConflictRegistry.conflictsWhen("MeetingNoteAdded", "ContactEmailChanged", ConflictRegistry.sameKey("contactId"))
)
// #endregion typed

// #region exhaustive
export const unfinished = ConflictRegistry.make(Events.CrmEvent).pipe(
  ConflictRegistry.never("MeetingNoteAdded"),
  // @ts-expect-error five event types have no rule yet
  ConflictRegistry.exhaustive
)
// #endregion exhaustive

// #region to-document
export const document = ConflictRegistry.toDocument(registry)
// Either.right({ rules: [...] }): the document below
// #endregion to-document

// #region from-document
// With the domain's Schema the document is checked against its event types and fields, and the result is typed.
export const fromFile = (json: unknown) => ConflictRegistry.fromDocument(json, Events.CrmEvent)

export const invalid = fromFile({
  rules: [
    { type: "ClientValueUpgraded", conflictsWith: ["ClientValueUpgraded", "ClientRenamed"] },
    { type: "MeetingNoteAdded", conflictsWith: [{ type: "MeetingNoteAdded", sameKey: "contactId" }] }
  ]
})
// Either.left(InvalidRegistryDocument): its message is below
// #endregion from-document

// #region debug-form
// The file the service reads is the document as JSON; it reads back to a registry that decides as this one.
export const file = Either.map(document, (document) => JSON.stringify(document))
export const roundTrip = Either.flatMap(file, (text) => fromFile(JSON.parse(text)))

// JSON.stringify(registry) is not that file: it writes the registry's debug form, { "_id": "ConflictRegistry", ... }.
export const debugForm = fromFile(JSON.parse(JSON.stringify(registry)))
// Either.left(InvalidRegistryDocument): "this is a registry's debug form (its toJSON(), which JSON.stringify writes),
// not its document: write the document with ConflictRegistry.toDocument"
// #endregion debug-form

// #region override
const client = StreamId.make("client-acme")
const options = { schema: Events.CrmEvent, registry }
// The empty registry: plain optimistic concurrency.
const strict = ConflictRegistry.make(Events.CrmEvent)

const override = Effect.gen(function*() {
  const store = yield* EventStore.forDomain(options)
  yield* store.append(client, ExpectedVersion.noStream, [Events.ClientRegistered.make({ name: "Acme", value: 100 })])
  yield* store.append(client, ExpectedVersion.exact(1), [Events.ClientValueUpgraded.make({ value: 500 })])

  // A stale note: the domain's registry lets it through, the strict one given to this append does not.
  const note = Events.MeetingNoteAdded.make({ noteId: "n1", author: "harry", text: "went well" })
  const refused = yield* Effect.flip(store.append(client, ExpectedVersion.exact(1), [note], { registry: strict }))
  const passes = yield* store.append(client, ExpectedVersion.exact(1), [note])

  // A command handler appends under the registry of its options.
  const command = Commands.AddMeetingNote.make({ noteId: "n2", author: "joe", text: "called back" })
  const handled = yield* Effect.flip(
    CommandHandler.handle(Commands.decider, client, command, {
      ...options,
      registry: strict,
      expectedVersion: ExpectedVersion.exact(1)
    })
  )
  return { refused, passes, handled }
}).pipe(Effect.provide(EventStore.layerMemory()))
// refused: ConcurrencyConflict
// passes:  { firstVersion: 3, lastVersion: 3, rebasedOver: 1 }
// handled: ConcurrencyConflict
// #endregion override

// For the docs' tests: the example's outcome.
export const runOverride = () => Effect.runPromise(override)
