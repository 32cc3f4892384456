/**
 * A client as the CRM's read model shows it: its name, expected value, how many meeting notes were written up, and
 * the version of the last event it reflects. This module is the projection as a pure fold of a client's events;
 * `ReadModel` keeps the same summaries in SQL tables, and must always agree with this fold.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import type { CrmEvent } from "./Events.js"

/**
 * @since 0.1.0
 * @category models
 */
export const Status = Schema.Literal("unregistered", "active", "archived")

/**
 * @since 0.1.0
 * @category models
 */
export type Status = typeof Status.Type

/**
 * One client's summary. `meetingNotes` counts the notes written up (one per `MeetingNoteAdded`); `version` is the
 * stream version of the last event the summary reflects, which tells a reader whether a save has reached it.
 *
 * @since 0.1.0
 * @category models
 */
export const ClientSummary = Schema.Struct({
  streamId: Schema.String,
  name: Schema.String,
  expectedValue: Schema.NonNegativeInt,
  meetingNotes: Schema.NonNegativeInt,
  status: Status,
  version: Schema.NonNegativeInt
}).annotations({ identifier: "ClientSummary" })

/**
 * @since 0.1.0
 * @category models
 */
export interface ClientSummary extends Schema.Schema.Type<typeof ClientSummary> {}

/**
 * The summary of a client stream before any event.
 *
 * @since 0.1.0
 * @category constructors
 */
export const initial = (streamId: string): ClientSummary => ({
  streamId,
  name: "",
  expectedValue: 0,
  meetingNotes: 0,
  status: "unregistered",
  version: 0
})

/**
 * Applies one event, recorded at `version` of the client's stream.
 *
 * @since 0.1.0
 * @category folding
 */
export const evolve = (summary: ClientSummary, event: CrmEvent, version: number): ClientSummary => {
  switch (event._tag) {
    case "ClientRegistered":
      return { ...summary, name: event.name, expectedValue: event.value, status: "active", version }
    case "ClientValueUpgraded":
    case "ClientValueDowngraded":
      return { ...summary, expectedValue: event.value, version }
    case "MeetingNoteAdded":
      return { ...summary, meetingNotes: summary.meetingNotes + 1, version }
    case "ContactEmailChanged":
      return { ...summary, version }
    case "ClientArchived":
      return { ...summary, status: "archived", version }
  }
}

/**
 * The summary of a client stream whose events, from version 1, are `events`.
 *
 * @since 0.1.0
 * @category folding
 */
export const fold = (streamId: string, events: Iterable<CrmEvent>): ClientSummary => {
  let summary = initial(streamId)
  for (const event of events) summary = evolve(summary, event, summary.version + 1)
  return summary
}
