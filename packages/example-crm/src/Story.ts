/**
 * The Joe & Harry story, played against whatever `EventStore` is provided, printing each step and its outcome.
 *
 * @since 0.1.0
 */
import { CommandHandler, EventStore, ExpectedVersion, StreamId } from "@concord/core"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as HashSet from "effect/HashSet"
import type { ClientSummary } from "./ClientSummary.js"
import * as Commands from "./Commands.js"
import * as Events from "./Events.js"
import * as Registry from "./Registry.js"

const domain = { schema: Events.CrmEvent, registry: Registry.registry }

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
 * How the story shows a read model following it (see {@link play}): `readModel` returns the client's summary once it
 * reflects the stream's `version` (a save's last version), e.g. `ReadModel.waitFor(ReadModel.get, streamId, version)`.
 *
 * @since 0.1.0
 * @category story
 */
export interface Options<E, R> {
  readonly readModel?:
    | ((streamId: StreamId.StreamId, version: number) => Effect.Effect<ClientSummary, E, R>)
    | undefined
}

const change = (before: number | undefined, after: number) =>
  before === undefined || before === after ? `${after}` : `${before} → ${after}`

/** One line of the read model after a save, showing what changed since the line before. */
const readModelLine = (before: ClientSummary | undefined, after: ClientSummary) => {
  const value = change(before?.expectedValue, after.expectedValue)
  const notes = `${change(before?.meetingNotes, after.meetingNotes)} meeting note${after.meetingNotes === 1 ? "" : "s"}`
  const archived = after.status === "archived" ? ", archived" : ""
  return `   Read model at version ${after.version}: ${after.name}, expected value ${value}, ${notes}${archived}.`
}

/**
 * Plays the story on a fresh stream (its id is returned), telling each step to `say` (by default the console). With
 * `readModel`, each save is followed by a line of what the read model shows once it has caught up with the save.
 * The store failing is a defect; a failure of `readModel` (one that falls behind) fails the story.
 *
 * @since 0.1.0
 * @category story
 */
export const play = <E = never, R = never>(
  say: (line: string) => Effect.Effect<void> = Console.log,
  options: Options<E, R> = {}
): Effect.Effect<StreamId.StreamId, E, EventStore.EventStore | R> =>
  Effect.gen(function*() {
    const client = StreamId.make(`client-acme-${Date.now().toString(36)}`)
    const store = yield* EventStore.forDomain(domain)
    let shown: ClientSummary | undefined
    const follow = (version: number) =>
      options.readModel === undefined ? Effect.void : Effect.flatMap(options.readModel(client, version), (summary) => {
        const line = readModelLine(shown, summary)
        shown = summary
        return say(line)
      })

    yield* say(`1. Acme is registered and worked on for a while (stream ${client}).`)
    const history = yield* Effect.orDie(store.append(client, ExpectedVersion.noStream, acmeHistory))
    yield* follow(history.lastVersion)
    const opened = yield* Effect.orDie(CommandHandler.load(Commands.decider, client, domain))
    yield* say(`2. Joe and Harry both open the record at version ${opened.version}.`)

    const harry = yield* Effect.orDie(CommandHandler.handle(
      Commands.decider,
      client,
      Commands.AddMeetingNote.make({ noteId: "n1", author: "harry", text: "went well" }),
      { ...domain, expectedVersion: ExpectedVersion.exact(opened.version) }
    ))
    yield* say(
      `3. Harry saves his meeting notes (expected version ${opened.version}): appended at version ` +
        `${harry.append.firstVersion}.`
    )
    yield* follow(harry.append.lastVersion)

    const upgrade = Commands.UpgradeClientValue.make({ value: 500 })
    yield* say(`4. Joe saves a higher expected value, 500 (expected version ${opened.version}).`)
    const current = yield* Effect.orDie(store.version(client))
    yield* say(
      `   Plain optimistic concurrency would refuse it: the record is at version ${current}, not ${opened.version}.`
    )
    const joe = yield* Effect.orDie(CommandHandler.handle(Commands.decider, client, upgrade, {
      ...domain,
      expectedVersion: ExpectedVersion.exact(opened.version)
    }))
    yield* say(
      `   Concord reads the ${joe.append.rebasedOver} event committed since, finds no conflicting pair, and appends ` +
        `it at version ${joe.append.firstVersion} (rebasedOver = ${joe.append.rebasedOver}).`
    )
    yield* follow(joe.append.lastVersion)

    yield* say(`5. Sally, also at version ${opened.version}, lowers the value to 120: a real conflict.`)
    const sally = yield* Effect.orDie(Effect.flip(
      CommandHandler.handle(Commands.decider, client, Commands.DowngradeClientValue.make({ value: 120 }), {
        ...domain,
        expectedVersion: ExpectedVersion.exact(opened.version)
      })
    ))
    yield* say(`   Refused, nothing written: ${sally.message}`)

    const now = yield* Effect.orDie(CommandHandler.load(Commands.decider, client, domain))
    const notes = HashSet.toValues(now.state.notes).map((note) => `"${note.text}" (${note.author})`).sort()
    yield* say(
      `6. The record is at version ${now.version}: value ${now.state.value}, notes ${notes.join(", ")}. ` +
        `Nothing was lost.`
    )
    return client
  })
