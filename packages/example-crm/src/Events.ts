/**
 * The events of a client record in a small CRM: the domain of the Joe & Harry story.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

// Few distinct identifiers in generated data, so that generated events often touch the same contact or note.
const Identifier = (name: string, samples: ReadonlyArray<string>) =>
  Schema.String.pipe(
    Schema.minLength(1),
    Schema.annotations({ identifier: name, arbitrary: () => (fc) => fc.constantFrom(...samples) })
  )

/**
 * @since 0.1.0
 * @category fields
 */
export const Money = Schema.NonNegativeInt.annotations({
  identifier: "Money",
  arbitrary: () => (fc) => fc.integer({ min: 0, max: 1_000 })
})

/**
 * @since 0.1.0
 * @category fields
 */
export const NoteId = Identifier("NoteId", ["n1", "n2", "n3"])

/**
 * @since 0.1.0
 * @category fields
 */
export const ContactId = Identifier("ContactId", ["alice", "bob", "carol"])

/**
 * @since 0.1.0
 * @category events
 */
export const ClientRegistered = Schema.TaggedStruct("ClientRegistered", {
  name: Schema.String,
  value: Money
})

/**
 * Joe raises the expected value of the client.
 *
 * @since 0.1.0
 * @category events
 */
export const ClientValueUpgraded = Schema.TaggedStruct("ClientValueUpgraded", { value: Money })

/**
 * @since 0.1.0
 * @category events
 */
export const ClientValueDowngraded = Schema.TaggedStruct("ClientValueDowngraded", { value: Money })

/**
 * Harry writes up the meeting.
 *
 * @since 0.1.0
 * @category events
 */
export const MeetingNoteAdded = Schema.TaggedStruct("MeetingNoteAdded", {
  noteId: NoteId,
  author: Schema.String,
  text: Schema.String
})

/**
 * The email of one of the client's contacts changed.
 *
 * @since 0.1.0
 * @category events
 */
export const ContactEmailChanged = Schema.TaggedStruct("ContactEmailChanged", {
  contactId: ContactId,
  email: Schema.String
})

/**
 * @since 0.1.0
 * @category events
 */
export const ClientArchived = Schema.TaggedStruct("ClientArchived", { reason: Schema.String })

/**
 * Every event of a client record.
 *
 * @since 0.1.0
 * @category events
 */
export const CrmEvent = Schema.Union(
  ClientRegistered,
  ClientValueUpgraded,
  ClientValueDowngraded,
  MeetingNoteAdded,
  ContactEmailChanged,
  ClientArchived
)

/**
 * @since 0.1.0
 * @category events
 */
export type CrmEvent = typeof CrmEvent.Type
