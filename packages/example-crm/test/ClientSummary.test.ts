import { Client, ClientSummary, Events } from "@concord/example-crm"
import { describe, expect, it } from "@effect/vitest"
import { Arbitrary, FastCheck as fc, HashSet } from "effect"

const histories = fc.array(Arbitrary.make(Events.CrmEvent), { maxLength: 40 })

describe("ClientSummary", () => {
  it.prop(
    "agrees with the decider's state of the client: name, value and status, and one note per note written up",
    [histories],
    ([events]) => {
      const summary = ClientSummary.fold("client-x", events)
      const state = Client.fold(events)
      expect(summary).toMatchObject({ name: state.name, expectedValue: state.value, status: state.status })
      expect(summary.version).toBe(events.length)
      expect(summary.meetingNotes).toBe(events.filter((event) => event._tag === "MeetingNoteAdded").length)
      // The state keeps notes as a set: the same note written up twice is one there, two here.
      expect(summary.meetingNotes).toBeGreaterThanOrEqual(HashSet.size(state.notes))
    },
    { fastCheck: { numRuns: 300 } }
  )
})
