import { Conflict, ConflictRegistry, Event, StreamVersion } from "@concord/core"
import { Events, Registry } from "@concord/example-crm"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either } from "effect"

const encode = (event: Events.CrmEvent) => Effect.runSync(Event.encode(Events.CrmEvent)(event))
const clash = (proposed: Events.CrmEvent, committed: Events.CrmEvent) =>
  ConflictRegistry.isConflict(Registry.registry, encode(proposed), encode(committed))

const upgrade = Events.ClientValueUpgraded.make({ value: 200 })
const downgrade = Events.ClientValueDowngraded.make({ value: 50 })
const note = Events.MeetingNoteAdded.make({ noteId: "n1", author: "harry", text: "went well" })
const email = (contactId: string) => Events.ContactEmailChanged.make({ contactId, email: `${contactId}@example.com` })
const archived = Events.ClientArchived.make({ reason: "lost" })
const registered = Events.ClientRegistered.make({ name: "Acme", value: 100 })

describe("the CRM registry", () => {
  it("lets Joe's upgrade pass Harry's note, and Harry's note pass Joe's upgrade", () => {
    expect(clash(upgrade, note)).toBe(false)
    expect(clash(note, upgrade)).toBe(false)
  })

  it("makes value changes conflict with each other, in both directions", () => {
    expect(clash(upgrade, upgrade)).toBe(true)
    expect(clash(upgrade, downgrade)).toBe(true)
    expect(clash(downgrade, upgrade)).toBe(true)
    expect(clash(downgrade, downgrade)).toBe(true)
  })

  it("makes email changes conflict only for the same contact", () => {
    expect(clash(email("alice"), email("alice"))).toBe(true)
    expect(clash(email("alice"), email("bob"))).toBe(false)
    expect(clash(email("alice"), upgrade)).toBe(false)
  })

  it("makes everything conflict with registering and archiving, and those with everything", () => {
    for (const event of [upgrade, downgrade, note, email("alice"), archived, registered]) {
      expect(clash(event, archived)).toBe(true)
      expect(clash(event, registered)).toBe(true)
      expect(clash(archived, event)).toBe(true)
      expect(clash(registered, event)).toBe(true)
    }
  })

  it("names every clashing pair", () => {
    const committed = [note, upgrade].map((event, i) => ({
      ...encode(event),
      id: Event.EventId.make(`e${6 + i}`),
      version: StreamVersion.make(6 + i)
    }))
    expect(Conflict.detect(Registry.registry, committed, [downgrade, note].map(encode))).toEqual([{
      proposedIndex: 0,
      proposedType: "ClientValueDowngraded",
      committedId: "e7",
      committedVersion: 7,
      committedType: "ClientValueUpgraded"
    }])
  })

  it("round-trips through its JSON document", () => {
    const document = Either.getOrThrow(ConflictRegistry.toDocument(Registry.registry))
    const read = Either.getOrThrow(ConflictRegistry.fromDocument(JSON.parse(JSON.stringify(document)), Events.CrmEvent))
    const all = [upgrade, downgrade, note, email("alice"), email("bob"), archived, registered]
    for (const proposed of all) {
      for (const committed of all) {
        expect(ConflictRegistry.isConflict(read, encode(proposed), encode(committed))).toBe(clash(proposed, committed))
      }
    }
  })
})
