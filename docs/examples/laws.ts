import { ConflictRegistry } from "@concord/core"
import { Client, Commands, Events, Registry } from "@concord/example-crm"
import { Laws } from "@concord/testing"
import { Effect, Schema } from "effect"

// The seed is fixed here so that the counterexamples and reports shown in the docs are the ones these laws find.
const run = { seed: 1124 }

// #region wrong
const lifecycle = ["ClientRegistered", "ClientArchived"] as const

// Wrong: it forgets that two value upgrades conflict.
export const wrong = ConflictRegistry.make(Events.CrmEvent).pipe(
  ConflictRegistry.always("ClientRegistered"),
  ConflictRegistry.always("ClientArchived"),
  ConflictRegistry.conflicts("ClientValueUpgraded", lifecycle),
  ConflictRegistry.conflicts("ClientValueDowngraded", ["ClientValueDowngraded", ...lifecycle]),
  ConflictRegistry.mutual("ClientValueUpgraded", ["ClientValueDowngraded"]),
  ConflictRegistry.conflicts("MeetingNoteAdded", lifecycle),
  ConflictRegistry.conflicts("ContactEmailChanged", lifecycle),
  ConflictRegistry.conflictsWhen("ContactEmailChanged", "ContactEmailChanged", ConflictRegistry.sameKey("contactId"))
)

export const commutation = (registry: ConflictRegistry.ConflictRegistry<Events.CrmEvent, any>) =>
  Laws.commutation({
    registry,
    evolve: Client.evolve,
    initialState: Client.initial,
    decider: Commands.decider,
    commands: Commands.CrmCommand,
    run
  })

export const decisionStability = (registry: ConflictRegistry.ConflictRegistry<Events.CrmEvent, any>) =>
  Laws.decisionStability({ decider: Commands.decider, registry, commands: Commands.CrmCommand, run })
// #endregion wrong

// #region replay
// Only the pair the violation names, at the seed it names: the same cases, so the same counterexample.
export const replay = Laws.commutation({
  registry: wrong,
  evolve: Client.evolve,
  initialState: Client.initial,
  decider: Commands.decider,
  commands: Commands.CrmCommand,
  pairs: [["ClientValueUpgraded", "ClientValueUpgraded"]],
  run: { seed: 1124 }
})
// #endregion replay

// #region fixed
export const fixed = wrong.pipe(ConflictRegistry.conflicts("ClientValueUpgraded", ["ClientValueUpgraded"]))
// commutation(fixed) and decisionStability(fixed) succeed
// #endregion fixed

// #region too-lenient
// Also wrong: notes commute with everything, but a note must not be added to a client archived meanwhile.
export const tooLenient = fixed.pipe(ConflictRegistry.never("MeetingNoteAdded"))
// commutation(tooLenient) succeeds; decisionStability(tooLenient) fails
// #endregion too-lenient

// #region report
// What the laws checked on the CRM's own registry, in words.
export const summaries = Effect.all([commutation(Registry.registry), decisionStability(Registry.registry)]).pipe(
  Effect.map((reports) => reports.map((report) => report.summary).join("\n"))
)
// #endregion report

// #region unreached
// Commands that never add a note: no decision case can propose a MeetingNoteAdded.
const withoutNotes = Schema.Union(
  Commands.RegisterClient,
  Commands.UpgradeClientValue,
  Commands.DowngradeClientValue,
  Commands.ChangeContactEmail,
  Commands.ArchiveClient
)
export const withoutNotesReport = Laws.decisionStability({
  decider: Commands.decider,
  registry: Registry.registry,
  commands: withoutNotes,
  run
})
// #endregion unreached

// For the docs' tests: the law violation of an example, or undefined when the laws hold. Every registry here has its
// Schema, so a MissingSchema is a defect.
export const violation = (
  law: Effect.Effect<Laws.Report, Laws.LawViolation | Laws.MissingSchema>
): Promise<Laws.LawViolation | undefined> =>
  Effect.runPromise(
    law.pipe(
      Effect.catchTag("MissingSchema", (error) => Effect.die(error)),
      Effect.match({ onFailure: (error) => error, onSuccess: () => undefined })
    )
  )
