import { ConflictRegistry } from "@concord/core"
import { Client, Commands, Events } from "@concord/example-crm"
import { Laws } from "@concord/testing"
import { Effect } from "effect"

// The seed is fixed here so that the counterexamples shown in the docs are the ones these laws find.
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
  Laws.commutation({ registry, evolve: Client.evolve, initialState: Client.initial, run })

export const decisionStability = (registry: ConflictRegistry.ConflictRegistry<Events.CrmEvent, any>) =>
  Laws.decisionStability({ decider: Commands.decider, registry, commands: Commands.CrmCommand, run })
// #endregion wrong

// #region fixed
export const fixed = wrong.pipe(ConflictRegistry.conflicts("ClientValueUpgraded", ["ClientValueUpgraded"]))
// commutation(fixed) and decisionStability(fixed) succeed
// #endregion fixed

// #region too-lenient
// Also wrong: notes commute with everything, but a note must not be added to a client archived meanwhile.
export const tooLenient = fixed.pipe(ConflictRegistry.never("MeetingNoteAdded"))
// commutation(tooLenient) succeeds; decisionStability(tooLenient) fails
// #endregion too-lenient

// For the docs' tests: the law violation of an example, or undefined when the laws hold.
export const violation = <E>(law: Effect.Effect<void, E>): Promise<E | undefined> =>
  Effect.runPromise(Effect.match(law, { onFailure: (error) => error, onSuccess: () => undefined }))
