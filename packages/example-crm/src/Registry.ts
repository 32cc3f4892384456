/**
 * Which client events conflict: the registry of the Joe & Harry story.
 *
 * @since 0.1.0
 */
import { ConflictRegistry } from "@concord/core"
import { CrmEvent } from "./Events.js"

// A writer that missed the creation or the archiving of the client decided on a record that no longer is.
const lifecycle = ["ClientRegistered", "ClientArchived"] as const

/**
 * - registering and archiving conflict with everything;
 * - value changes conflict with each other (the later would silently overwrite the earlier);
 * - meeting notes conflict with nothing but the lifecycle: Harry's note and Joe's upgrade both go through;
 * - email changes conflict only when they change the same contact.
 *
 * @since 0.1.0
 * @category registry
 */
export const registry = ConflictRegistry.make(CrmEvent).pipe(
  ConflictRegistry.always("ClientRegistered"),
  ConflictRegistry.always("ClientArchived"),
  ConflictRegistry.conflicts("ClientValueUpgraded", ["ClientValueUpgraded", ...lifecycle]),
  ConflictRegistry.conflicts("ClientValueDowngraded", ["ClientValueDowngraded", ...lifecycle]),
  ConflictRegistry.mutual("ClientValueUpgraded", ["ClientValueDowngraded"]),
  ConflictRegistry.conflicts("MeetingNoteAdded", lifecycle),
  ConflictRegistry.conflicts("ContactEmailChanged", lifecycle),
  ConflictRegistry.conflictsWhen("ContactEmailChanged", "ContactEmailChanged", ConflictRegistry.sameKey("contactId")),
  ConflictRegistry.exhaustive
)
