/**
 * What users ask of a client record, and how the record decides.
 *
 * @since 0.1.0
 */
import { Decider } from "@concord/core"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Client from "./Client.js"
import * as Events from "./Events.js"
import { ContactId, type CrmEvent, Money, NoteId } from "./Events.js"

/**
 * @since 0.1.0
 * @category commands
 */
export const RegisterClient = Schema.TaggedStruct("RegisterClient", { name: Schema.String, value: Money })

/**
 * @since 0.1.0
 * @category commands
 */
export const UpgradeClientValue = Schema.TaggedStruct("UpgradeClientValue", { value: Money })

/**
 * @since 0.1.0
 * @category commands
 */
export const DowngradeClientValue = Schema.TaggedStruct("DowngradeClientValue", { value: Money })

/**
 * @since 0.1.0
 * @category commands
 */
export const AddMeetingNote = Schema.TaggedStruct("AddMeetingNote", {
  noteId: NoteId,
  author: Schema.String,
  text: Schema.String
})

/**
 * @since 0.1.0
 * @category commands
 */
export const ChangeContactEmail = Schema.TaggedStruct("ChangeContactEmail", {
  contactId: ContactId,
  email: Schema.String
})

/**
 * @since 0.1.0
 * @category commands
 */
export const ArchiveClient = Schema.TaggedStruct("ArchiveClient", { reason: Schema.String })

/**
 * @since 0.1.0
 * @category commands
 */
export const CrmCommand = Schema.Union(
  RegisterClient,
  UpgradeClientValue,
  DowngradeClientValue,
  AddMeetingNote,
  ChangeContactEmail,
  ArchiveClient
)

/**
 * @since 0.1.0
 * @category commands
 */
export type CrmCommand = typeof CrmCommand.Type

/**
 * @since 0.1.0
 * @category errors
 */
export class ClientNotFound extends Schema.TaggedError<ClientNotFound>()("ClientNotFound", {}) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return "no client is registered on this record"
  }
}

/**
 * @since 0.1.0
 * @category errors
 */
export class ClientAlreadyRegistered extends Schema.TaggedError<ClientAlreadyRegistered>()(
  "ClientAlreadyRegistered",
  {}
) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return "the client is already registered"
  }
}

/**
 * @since 0.1.0
 * @category errors
 */
export class ClientIsArchived extends Schema.TaggedError<ClientIsArchived>()("ClientIsArchived", {}) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return "the client is archived"
  }
}

/**
 * An upgrade that does not raise the value, or a downgrade that does not lower it.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidValueChange extends Schema.TaggedError<InvalidValueChange>()("InvalidValueChange", {
  current: Schema.Number,
  requested: Schema.Number
}) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `the value is ${this.current}; ${this.requested} does not change it in the requested direction`
  }
}

/**
 * @since 0.1.0
 * @category errors
 */
export type CrmError = ClientNotFound | ClientAlreadyRegistered | ClientIsArchived | InvalidValueChange

const active = (state: Client.Client): Effect.Effect<void, ClientNotFound | ClientIsArchived> =>
  state.status === "unregistered"
    ? Effect.fail(new ClientNotFound())
    : state.status === "archived"
    ? Effect.fail(new ClientIsArchived())
    : Effect.void

/**
 * @since 0.1.0
 * @category decider
 */
export const decide = (command: CrmCommand, state: Client.Client): Effect.Effect<ReadonlyArray<CrmEvent>, CrmError> => {
  switch (command._tag) {
    case "RegisterClient":
      return state.status === "unregistered"
        ? Effect.succeed([Events.ClientRegistered.make({ name: command.name, value: command.value })])
        : Effect.fail(new ClientAlreadyRegistered())
    case "UpgradeClientValue":
      return Effect.zipRight(
        active(state),
        command.value > state.value
          ? Effect.succeed([Events.ClientValueUpgraded.make({ value: command.value })])
          : Effect.fail(new InvalidValueChange({ current: state.value, requested: command.value }))
      )
    case "DowngradeClientValue":
      return Effect.zipRight(
        active(state),
        command.value < state.value
          ? Effect.succeed([Events.ClientValueDowngraded.make({ value: command.value })])
          : Effect.fail(new InvalidValueChange({ current: state.value, requested: command.value }))
      )
    case "AddMeetingNote":
      return Effect.as(active(state), [
        Events.MeetingNoteAdded.make({ noteId: command.noteId, author: command.author, text: command.text })
      ])
    case "ChangeContactEmail":
      return Effect.as(active(state), [
        Events.ContactEmailChanged.make({ contactId: command.contactId, email: command.email })
      ])
    case "ArchiveClient":
      return Effect.as(active(state), [Events.ClientArchived.make({ reason: command.reason })])
  }
}

/**
 * The client record as a decider.
 *
 * @since 0.1.0
 * @category decider
 */
export const decider = Decider.make({ initialState: Client.initial, evolve: Client.evolve, decide })
