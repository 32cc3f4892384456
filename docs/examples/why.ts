import { CommandHandler, ConflictRegistry, EventStore, ExpectedVersion, StreamId } from "@concord/core"
import { Commands, Events, Story } from "@concord/example-crm"
import { Effect } from "effect"

const client = StreamId.make("client-acme")

// Acme's record holds five events when Joe and Harry open it.
const history = Story.acmeHistory

// #region story
const story = (registry: ConflictRegistry.ConflictRegistry<Events.CrmEvent, any>) =>
  Effect.gen(function*() {
    const options = { schema: Events.CrmEvent, registry }
    const store = yield* EventStore.forDomain(options)
    yield* store.append(client, ExpectedVersion.noStream, history) // versions 1 to 5

    // Harry saves his meeting notes first: version 6.
    yield* CommandHandler.handle(
      Commands.decider,
      client,
      Commands.AddMeetingNote.make({ noteId: "n1", author: "harry", text: "went well" }),
      { ...options, expectedVersion: ExpectedVersion.exact(5) }
    )
    // Joe raises the client's value. He decided on the record as it was at version 5.
    const joe = yield* CommandHandler.handle(
      Commands.decider,
      client,
      Commands.UpgradeClientValue.make({ value: 500 }),
      { ...options, expectedVersion: ExpectedVersion.exact(5) }
    )
    return joe.append
  }).pipe(Effect.provide(EventStore.layerMemory()))
// #endregion story

// #region plain
// An empty registry: every new event conflicts with every committed one. This is plain optimistic concurrency.
export const plain = story(ConflictRegistry.make(Events.CrmEvent))
// fails with ConcurrencyConflict:
//   ClientValueUpgraded (proposed #0) conflicts with MeetingNoteAdded (version 6)
// #endregion plain

// #region registry
// Rules are keyed by the NEW event's type and list the COMMITTED types it conflicts with.
// A type without a rule conflicts with everything.
export const registry = ConflictRegistry.make(Events.CrmEvent).pipe(
  ConflictRegistry.conflicts("ClientValueUpgraded", ["ClientValueUpgraded", "ClientRegistered", "ClientArchived"]),
  ConflictRegistry.mutual("ClientValueUpgraded", ["ClientValueDowngraded"]),
  ConflictRegistry.conflicts("MeetingNoteAdded", ["ClientRegistered", "ClientArchived"])
)

export const concord = story(registry)
// succeeds with { firstVersion: 7, lastVersion: 7, rebasedOver: 1 }: Joe's upgrade went past Harry's note
// #endregion registry
