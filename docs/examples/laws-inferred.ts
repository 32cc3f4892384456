import { ConflictRegistry } from "@concord/core"
import { Events } from "@concord/example-crm"

// #region pasted
// inference.source, pasted (and formatted): the CRM's registry as the evidence supports it.
export const registry = ConflictRegistry.make(Events.CrmEvent).pipe(
  ConflictRegistry.conflicts("ClientRegistered", [
    "ClientRegistered",
    "ClientValueUpgraded",
    "ClientValueDowngraded",
    "ClientArchived"
  ]),
  ConflictRegistry.conflicts("ClientValueUpgraded", [
    "ClientRegistered",
    "ClientValueUpgraded",
    "ClientValueDowngraded",
    "ClientArchived"
  ]),
  ConflictRegistry.conflicts("ClientValueDowngraded", [
    "ClientRegistered",
    "ClientValueUpgraded",
    "ClientValueDowngraded",
    "ClientArchived"
  ]),
  ConflictRegistry.conflicts("MeetingNoteAdded", ["ClientArchived"]),
  ConflictRegistry.conflicts("ContactEmailChanged", ["ClientArchived"]),
  ConflictRegistry.conflictsWhen("ContactEmailChanged", "ContactEmailChanged", ConflictRegistry.sameKey("contactId")),
  ConflictRegistry.conflicts("ClientArchived", ["ClientRegistered", "ClientArchived"]),
  ConflictRegistry.exhaustive
)
// #endregion pasted
