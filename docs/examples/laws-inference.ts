import { Commands, Events, Registry } from "@concord/example-crm"
import { Laws } from "@concord/testing"
import * as Examples from "./laws.js"

// #region infer
// The most permissive registry the evidence supports, from the decider and its commands alone.
export const inference = Laws.infer({
  decider: Commands.decider,
  commands: Commands.CrmCommand,
  schema: Events.CrmEvent,
  // How the TypeScript source names the events' Schema.
  schemaName: "Events.CrmEvent",
  run: { seed: 1124 }
})
// inference.report: every pair's verdict and why; inference.source: the registry as TypeScript
// #endregion infer

// #region compare
// The hand-written registry against the evidence: what it lets through that the evidence refuses (dangers), and what
// it refuses that the evidence lets through (acceptance lost).
export const compareHandWritten = (inferred: Laws.Inference<Events.CrmEvent>) =>
  Laws.compare(Registry.registry, inferred)

// The registry that forgets that two value upgrades conflict, against the same evidence.
export const compareWrong = (inferred: Laws.Inference<Events.CrmEvent>) => Laws.compare(Examples.wrong, inferred)
// #endregion compare
