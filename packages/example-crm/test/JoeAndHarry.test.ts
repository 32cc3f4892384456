import { CommandHandler, EventStore, ExpectedVersion, StreamId } from "@concord/core"
import { Commands, Events, Registry, Story } from "@concord/example-crm"
import { describe, expect, it } from "@effect/vitest"
import { Effect, HashSet } from "effect"

const options = { schema: Events.CrmEvent, registry: Registry.registry }
const client = StreamId.make("client-acme")

// Acme holds five events: the record both Joe and Harry open at version 5.
const history = Story.acmeHistory

describe("Joe and Harry", () => {
  it.effect("Joe's stale upgrade goes through after Harry's note, and no data is lost", () =>
    Effect.gen(function*() {
      const store = yield* EventStore.forDomain(options)
      yield* store.append(client, ExpectedVersion.noStream, history)
      const opened = yield* CommandHandler.load(Commands.decider, client, options)
      expect(opened.version).toBe(5)

      const harry = yield* CommandHandler.handle(
        Commands.decider,
        client,
        Commands.AddMeetingNote.make({ noteId: "n1", author: "harry", text: "went well" }),
        { ...options, expectedVersion: ExpectedVersion.exact(opened.version) }
      )
      expect(harry.append).toMatchObject({ firstVersion: 6, rebasedOver: 0 })

      const joe = yield* CommandHandler.handle(
        Commands.decider,
        client,
        Commands.UpgradeClientValue.make({ value: 500 }),
        { ...options, expectedVersion: ExpectedVersion.exact(opened.version) }
      )
      expect(joe.append).toMatchObject({ firstVersion: 7, lastVersion: 7, rebasedOver: 1 })

      const now = yield* CommandHandler.load(Commands.decider, client, options)
      expect(now.version).toBe(7)
      expect(now.state.value).toBe(500)
      expect(HashSet.some(now.state.notes, (note) => note.noteId === "n1" && note.author === "harry")).toBe(true)
    }).pipe(Effect.provide(EventStore.layerMemory())))

  it.effect("a concurrent stale upgrade is rejected, naming the pair, and nothing is written", () =>
    Effect.gen(function*() {
      const store = yield* EventStore.forDomain(options)
      yield* store.append(client, ExpectedVersion.noStream, history)
      yield* CommandHandler.handle(Commands.decider, client, Commands.UpgradeClientValue.make({ value: 500 }), {
        ...options,
        expectedVersion: ExpectedVersion.exact(5)
      })
      const error = yield* Effect.flip(
        CommandHandler.handle(Commands.decider, client, Commands.UpgradeClientValue.make({ value: 300 }), {
          ...options,
          expectedVersion: ExpectedVersion.exact(5)
        })
      )
      expect(error._tag).toBe("ConcurrencyConflict")
      expect(error).toMatchObject({
        expectedVersion: 5,
        actualVersion: 6,
        conflicts: [{
          proposedIndex: 0,
          proposedType: "ClientValueUpgraded",
          committedVersion: 6,
          committedType: "ClientValueUpgraded"
        }]
      })
      expect(yield* store.version(client)).toBe(6)
    }).pipe(Effect.provide(EventStore.layerMemory())))
})
