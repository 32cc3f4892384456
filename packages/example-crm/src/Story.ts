/**
 * The Joe & Harry story, played against whatever `EventStore` is provided, printing each step and its outcome.
 *
 * @since 0.1.0
 */
import { CommandHandler, EventStore, ExpectedVersion, StreamId } from "@concord/core"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as HashSet from "effect/HashSet"
import * as Commands from "./Commands.js"
import * as Events from "./Events.js"
import * as Registry from "./Registry.js"

const options = { schema: Events.CrmEvent, registry: Registry.registry }

/**
 * Acme's record as Joe and Harry find it: five events, so both open it at version 5.
 *
 * @since 0.1.0
 * @category story
 */
export const acmeHistory: ReadonlyArray<Events.CrmEvent> = [
  Events.ClientRegistered.make({ name: "Acme", value: 100 }),
  Events.ContactEmailChanged.make({ contactId: "alice", email: "alice@acme.test" }),
  Events.MeetingNoteAdded.make({ noteId: "n0", author: "joe", text: "first call" }),
  Events.ClientValueUpgraded.make({ value: 150 }),
  Events.ContactEmailChanged.make({ contactId: "bob", email: "bob@acme.test" })
]

/**
 * Plays the story on a fresh stream (its id is returned), telling each step to `say` (by default the console).
 *
 * @since 0.1.0
 * @category story
 */
export const play = (
  say: (line: string) => Effect.Effect<void> = Console.log
): Effect.Effect<StreamId.StreamId, never, EventStore.EventStore> =>
  Effect.gen(function*() {
    const client = StreamId.make(`client-acme-${Date.now().toString(36)}`)
    const store = yield* EventStore.forDomain(options)

    yield* say(`1. Acme is registered and worked on for a while (stream ${client}).`)
    yield* store.append(client, ExpectedVersion.noStream, acmeHistory)
    const opened = yield* CommandHandler.load(Commands.decider, client, options)
    yield* say(`2. Joe and Harry both open the record at version ${opened.version}.`)

    const harry = yield* CommandHandler.handle(
      Commands.decider,
      client,
      Commands.AddMeetingNote.make({ noteId: "n1", author: "harry", text: "went well" }),
      { ...options, expectedVersion: ExpectedVersion.exact(opened.version) }
    )
    yield* say(
      `3. Harry saves his meeting notes (expected version ${opened.version}): appended at version ` +
        `${harry.append.firstVersion}.`
    )

    const upgrade = Commands.UpgradeClientValue.make({ value: 500 })
    yield* say(`4. Joe saves a higher expected value, 500 (expected version ${opened.version}).`)
    const current = yield* store.version(client)
    yield* say(
      `   Plain optimistic concurrency would refuse it: the record is at version ${current}, not ${opened.version}.`
    )
    const joe = yield* CommandHandler.handle(Commands.decider, client, upgrade, {
      ...options,
      expectedVersion: ExpectedVersion.exact(opened.version)
    })
    yield* say(
      `   Concord reads the ${joe.append.rebasedOver} event committed since, finds no conflicting pair, and appends ` +
        `it at version ${joe.append.firstVersion} (rebasedOver = ${joe.append.rebasedOver}).`
    )

    yield* say(`5. Sally, also at version ${opened.version}, lowers the value to 120: a real conflict.`)
    const sally = yield* Effect.flip(
      CommandHandler.handle(Commands.decider, client, Commands.DowngradeClientValue.make({ value: 120 }), {
        ...options,
        expectedVersion: ExpectedVersion.exact(opened.version)
      })
    )
    yield* say(`   Refused, nothing written: ${sally.message}`)

    const now = yield* CommandHandler.load(Commands.decider, client, options)
    const notes = HashSet.toValues(now.state.notes).map((note) => `"${note.text}" (${note.author})`).sort()
    yield* say(
      `6. The record is at version ${now.version}: value ${now.state.value}, notes ${notes.join(", ")}. ` +
        `Nothing was lost.`
    )
    return client
  }).pipe(Effect.orDie)
