// #region program
import { CommandHandler, EventStore, ExpectedVersion, StreamId } from "@concord/core"
import { Commands, Events, Registry } from "@concord/example-crm"
import { Effect } from "effect"

const options = { schema: Events.CrmEvent, registry: Registry.registry }
const client = StreamId.make("client-acme")

// The program needs an EventStore; which one is decided when it runs.
export const program = Effect.gen(function*() {
  const store = yield* EventStore.forDomain(options)
  yield* store.append(client, ExpectedVersion.noStream, [Events.ClientRegistered.make({ name: "Acme", value: 100 })])

  // Harry and Joe both opened the record at version 1.
  yield* CommandHandler.handle(
    Commands.decider,
    client,
    Commands.AddMeetingNote.make({ noteId: "n1", author: "harry", text: "went well" }),
    { ...options, expectedVersion: ExpectedVersion.exact(1) }
  )
  const joe = yield* CommandHandler.handle(Commands.decider, client, Commands.UpgradeClientValue.make({ value: 500 }), {
    ...options,
    expectedVersion: ExpectedVersion.exact(1)
  })
  return joe.append // { streamId: "client-acme", firstVersion: 3, lastVersion: 3, rebasedOver: 1 }
})
// #endregion program

// #region memory
export const main = program.pipe(Effect.provide(EventStore.layerMemory()))
// #endregion memory
