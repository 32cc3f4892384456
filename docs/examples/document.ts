// A second small domain, for the payload rules of the registry page: sections of a shared document.
// #region domain
import { ConflictRegistry } from "@concord/core"
import { Schema } from "effect"

export const SectionEdited = Schema.TaggedStruct("SectionEdited", { section: Schema.String, text: Schema.String })
export const SectionRemoved = Schema.TaggedStruct("SectionRemoved", { section: Schema.String })
export const CommentAdded = Schema.TaggedStruct("CommentAdded", { section: Schema.String, text: Schema.String })
export const DocumentViewed = Schema.TaggedStruct("DocumentViewed", { by: Schema.String })

export const DocumentEvent = Schema.Union(SectionEdited, SectionRemoved, CommentAdded, DocumentViewed)
export type DocumentEvent = typeof DocumentEvent.Type
// #endregion domain

// #region registry
export const registry = ConflictRegistry.make(DocumentEvent).pipe(
  // A view depends on nothing anyone else wrote.
  ConflictRegistry.never("DocumentViewed"),
  // An edit and a removal of the same section clash, whichever of the two was committed first.
  ConflictRegistry.mutualWhen("SectionEdited", "SectionRemoved", ConflictRegistry.sameKey("section")),
  // Two edits of one section clash, unless they wrote the same text.
  ConflictRegistry.conflictsWhen(
    "SectionEdited",
    "SectionEdited",
    (proposed, committed) => proposed.section === committed.section && proposed.text !== committed.text
  ),
  // A comment clashes only with the removal of its section.
  ConflictRegistry.conflictsWhen("CommentAdded", "SectionRemoved", ConflictRegistry.sameKey("section")),
  ConflictRegistry.exhaustive
)
// #endregion registry

// #region no-json
export const document = ConflictRegistry.toDocument(registry)
// Either.left(UnserializableRules): "predicate rules have no JSON form: SectionEdited -> SectionEdited"
// #endregion no-json
