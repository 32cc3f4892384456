// The two example domains as cases for measuring the laws: each with its correct registry, the small command list and
// depth the exhaustive oracle explores, and which single relaxations of the registry are harmful there. The tables
// were worked out by hand and are checked against the oracle in Oracle.test.ts; a mutation test of the laws wants
// every harmful relaxation caught.
//
// "Harmless" means harmless on the states the decider reaches. The CRM's harmless relaxations are harmless on every
// state: its registry is stricter than it must be (registering and archiving conflict with everything by choice).
// The task board's registry is as permissive as is safe on every state an event history reaches, so each of its
// harmless relaxations does harm on some history of events no sequence of commands produces; a law that generates
// arbitrary histories may catch them, one that follows the decider cannot.
import type { ConflictRegistry, Event } from "@concord/core"
import { type Client, Commands, Events, Registry } from "@concord/example-crm"
import * as Tasks from "../domains/Tasks.js"
import type { Domain } from "./exhaustive.js"

export interface Case<Command, A extends Event.Tagged, State, E> extends Domain<Command, A, State, E> {
  readonly name: string
  readonly registry: ConflictRegistry.ConflictRegistry<A, any>
  /** Relaxations, named as `relaxationName` names them, that let a harmful scenario or pair through. */
  readonly harmful: ReadonlyArray<string>
  /** The others, each with why it does no harm. */
  readonly harmless: Readonly<Record<string, string>>
}

export const crm: Case<Commands.CrmCommand, Events.CrmEvent, Client.Client, Commands.CrmError> = {
  name: "CRM",
  decider: Commands.decider,
  schema: Events.CrmEvent,
  registry: Registry.registry,
  commands: [
    Commands.RegisterClient.make({ name: "Acme", value: 100 }),
    Commands.UpgradeClientValue.make({ value: 200 }),
    Commands.UpgradeClientValue.make({ value: 500 }),
    Commands.DowngradeClientValue.make({ value: 50 }),
    Commands.AddMeetingNote.make({ noteId: "n1", author: "harry", text: "met" }),
    Commands.AddMeetingNote.make({ noteId: "n2", author: "joe", text: "called" }),
    Commands.ChangeContactEmail.make({ contactId: "alice", email: "alice@one" }),
    Commands.ChangeContactEmail.make({ contactId: "alice", email: "alice@two" }),
    Commands.ChangeContactEmail.make({ contactId: "bob", email: "bob@one" }),
    Commands.ArchiveClient.make({ reason: "gone" })
  ],
  depth: 3,
  harmful: [
    "ClientRegistered past ClientRegistered",
    "ClientRegistered past ClientValueUpgraded",
    "ClientRegistered past ClientValueDowngraded",
    "ClientRegistered past ClientArchived",
    "ClientValueUpgraded past ClientValueUpgraded",
    "ClientValueUpgraded past ClientRegistered",
    "ClientValueUpgraded past ClientArchived",
    "ClientValueUpgraded past ClientValueDowngraded",
    "ClientValueDowngraded past ClientValueDowngraded",
    "ClientValueDowngraded past ClientRegistered",
    "ClientValueDowngraded past ClientArchived",
    "ClientValueDowngraded past ClientValueUpgraded",
    "MeetingNoteAdded past ClientArchived",
    "ContactEmailChanged past ClientArchived",
    "ContactEmailChanged past ContactEmailChanged (sameKey contactId dropped)",
    "ClientArchived past ClientRegistered",
    "ClientArchived past ClientArchived"
  ],
  harmless: {
    "ClientRegistered past MeetingNoteAdded":
      "only the unregistered record registers, and every history after it starts with a registration, still a conflict",
    "ClientRegistered past ContactEmailChanged":
      "only the unregistered record registers, and every history after it starts with a registration, still a conflict",
    "MeetingNoteAdded past ClientRegistered":
      "a note is decided on an active record, which a registration leaves active; notes and registration commute",
    "ContactEmailChanged past ClientRegistered":
      "an email change is decided on an active record, which a registration leaves active; the two commute",
    "ClientArchived past ClientValueUpgraded":
      "archiving depends on the status alone, which a value change leaves as it is; status and value commute",
    "ClientArchived past ClientValueDowngraded":
      "archiving depends on the status alone, which a value change leaves as it is; status and value commute",
    "ClientArchived past MeetingNoteAdded":
      "archiving depends on the status alone, which a note leaves as it is; status and notes commute",
    "ClientArchived past ContactEmailChanged":
      "archiving depends on the status alone, which an email change leaves as it is; status and contacts commute"
  }
}

export const tasks: Case<Tasks.TaskCommand, Tasks.TaskEvent, Tasks.Board, Tasks.TaskError> = {
  name: "task board",
  decider: Tasks.decider,
  schema: Tasks.TaskEvent,
  registry: Tasks.registry,
  commands: Tasks.smallCommands,
  // Deleting a done task behind a closing needs it done and unassigned: four commands.
  depth: 4,
  harmful: [
    "TaskCreated past BoardClosed",
    "TaskCreated past TaskCreated (sameKey taskId dropped)",
    "TaskCreated past TaskRenamed (sameKey taskId dropped)",
    "TaskCreated past TaskAssigned (sameKey taskId dropped)",
    "TaskCreated past TaskCompleted (sameKey taskId dropped)",
    "TaskCreated past TaskDeleted (sameKey taskId dropped)",
    "TaskRenamed past TaskCreated (sameKey taskId dropped)",
    "TaskRenamed past TaskRenamed (sameKey taskId dropped)",
    "TaskRenamed past TaskCompleted (sameKey taskId dropped)",
    "TaskRenamed past TaskDeleted (sameKey taskId dropped)",
    "TaskAssigned past TaskCreated (sameKey taskId dropped)",
    "TaskAssigned past TaskAssigned (sameKey taskId dropped)",
    "TaskAssigned past TaskUnassigned (sameKey taskId dropped)",
    "TaskAssigned past TaskDeleted (sameKey taskId dropped)",
    "TaskUnassigned past BoardClosed",
    "TaskUnassigned past TaskAssigned (sameKey taskId dropped)",
    "TaskUnassigned past TaskUnassigned (sameKey taskId dropped)",
    "TaskCompleted past TaskCreated (sameKey taskId dropped)",
    "TaskCompleted past TaskUnassigned (sameKey taskId dropped)",
    "TaskCompleted past TaskCompleted (sameKey taskId dropped)",
    "TaskCompleted past TaskReopened (sameKey taskId dropped)",
    "TaskReopened past BoardClosed",
    "TaskReopened past TaskCompleted (sameKey taskId dropped)",
    "TaskReopened past TaskReopened (sameKey taskId dropped)",
    "TaskReopened past TaskDeleted (sameKey taskId dropped)",
    "TaskDeleted past BoardClosed",
    "TaskDeleted past TaskCreated (sameKey taskId dropped)",
    "TaskDeleted past TaskAssigned (sameKey taskId dropped)",
    "TaskDeleted past TaskDeleted (sameKey taskId dropped)",
    "CommentPosted past BoardClosed",
    "CommentPosted past TaskDeleted (sameKey taskId dropped)",
    "CommentPosted past CommentPosted (sameKey commentId dropped)",
    "BoardClosed past BoardClosed",
    "BoardClosed past TaskCreated",
    "BoardClosed past TaskReopened"
  ],
  harmless: {
    "TaskRenamed past BoardClosed":
      "renaming needs the task open, and closing needs it completed or deleted first: both conflict with the rename",
    "TaskAssigned past BoardClosed":
      "assigning needs the task open, and closing needs it assigned and completed or deleted first: all conflict",
    "TaskCompleted past BoardClosed":
      "completing needs the task open, and closing needs it completed or deleted first: both conflict",
    "TaskAssigned past TaskCompleted (sameKey taskId dropped)":
      "assigning needs the task unassigned and completing needs it assigned: an assignment, a conflict, comes between",
    "TaskUnassigned past TaskCreated (sameKey taskId dropped)":
      "the task exists, so a creation of it needs a deletion first, which conflicts; creating and unassigning commute",
    "TaskUnassigned past TaskDeleted (sameKey taskId dropped)":
      "the task is assigned, so its deletion also unassigns it, and an unassignment conflicts; the two commute",
    "TaskCompleted past TaskDeleted (sameKey taskId dropped)":
      "the task is assigned, so its deletion also unassigns it, and an unassignment conflicts; the two commute",
    "TaskReopened past TaskCreated (sameKey taskId dropped)":
      "the task exists, so a creation of it needs a deletion first, which conflicts; creating and reopening commute"
  }
}
