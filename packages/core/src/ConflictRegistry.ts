/**
 * Which newly proposed event types conflict with which committed ones.
 *
 * Rules are keyed by the type of the NEW (proposed) event and list the COMMITTED types it conflicts with:
 *
 * - a type with no rule conflicts with every committed event: the safe default;
 * - `conflicts(type, [...])` conflicts only with the listed committed types, and with every committed type the
 *   registry does not know (no rule can reason about an event it has never heard of);
 * - `never(type)` never conflicts, however far behind the writer is;
 * - `conflictsWhen(type, committed, condition)` conflicts only when a payload condition holds: a typed predicate,
 *   or the declarative `sameKey(field)`.
 *
 * A registry is an immutable, pipeable value typed by the domain's event union, so an unknown tag or a predicate
 * over the wrong payload is a compile error.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import { dual } from "effect/Function"
import type * as Inspectable from "effect/Inspectable"
import type { Pipeable } from "effect/Pipeable"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import type { EncodedEvent, EventSchema, Tag, Tagged, WithTag } from "./Event.js"
import * as internalCompiled from "./internal/compiledRegistry.js"
import * as internal from "./internal/conflictRegistry.js"
import * as internalDocument from "./internal/registryDocument.js"
import { markPrototype } from "./internal/typeId.js"

/**
 * @since 0.1.0
 * @category type ids
 */
export const TypeId: unique symbol = internal.TypeId

/**
 * @since 0.1.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * A registry for the events `A`. `Declared` tracks, at the type level, the tags that have a rule, which is what
 * {@link exhaustive} checks.
 *
 * @since 0.1.0
 * @category models
 */
export interface ConflictRegistry<in out A extends Tagged, out Declared extends string = never>
  extends Pipeable, Inspectable.Inspectable
{
  readonly [TypeId]: {
    readonly _A: (_: A) => A
    readonly _Declared: (_: never) => Declared
  }
  /** The domain Schema, used to decode payloads for predicate rules and to validate documents. */
  readonly schema: EventSchema<A> | undefined
  /** The rules, keyed by proposed event type. */
  readonly rules: ReadonlyMap<string, Rule>
}

/**
 * The rule for one proposed type: it conflicts with every committed event (`All`), or only with the committed types
 * listed, each under a condition (`Listed`; an empty list never conflicts).
 *
 * @since 0.1.0
 * @category models
 */
export type Rule =
  | { readonly _tag: "All" }
  | { readonly _tag: "Listed"; readonly committed: ReadonlyMap<string, Condition> }

/**
 * When a listed pair conflicts: always, when a named field is equal in both payloads, or when a predicate says so.
 *
 * @since 0.1.0
 * @category models
 */
export type Condition =
  | { readonly _tag: "Always" }
  | SameKey<string>
  | { readonly _tag: "When"; readonly predicate: (proposed: any, committed: any) => boolean }

/**
 * A declarative payload rule: the pair conflicts only when field `Key` holds the same value in both events.
 *
 * @since 0.1.0
 * @category models
 */
export interface SameKey<out Key extends string> {
  readonly _tag: "SameKey"
  readonly field: Key
}

/**
 * The fields two event types share, apart from `_tag`: what `sameKey` may name.
 *
 * @since 0.1.0
 * @category models
 */
export type SharedField<P, C> = Exclude<keyof P & keyof C, "_tag"> & string

/**
 * A payload condition for a proposed event of type `P` against a committed event of type `C`.
 *
 * @since 0.1.0
 * @category models
 */
export type PayloadCondition<P, C> = SameKey<SharedField<P, C>> | ((proposed: P, committed: C) => boolean)

/**
 * @since 0.1.0
 * @category guards
 */
export const isConflictRegistry = (u: unknown): u is ConflictRegistry<Tagged, string> =>
  typeof u === "object" && u !== null && TypeId in u

/**
 * An empty registry for the events a Schema declares: every proposed event conflicts with every committed one,
 * exactly as plain optimistic concurrency, until rules say otherwise.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <A extends Tagged>(schema: EventSchema<A>): ConflictRegistry<A> => internal.make(schema, new Map())

/**
 * An empty registry over any event types, for stores that hold events they have no Schema for (such as the HTTP
 * service). Predicate rules then receive the raw `{ _tag, ...data }`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const untyped = (): ConflictRegistry<Tagged> => internal.make(undefined, new Map())

/**
 * A condition for {@link conflictsWhen}: the pair conflicts only when `field` is equal in both payloads (for example
 * two changes to the same contact). Declarative, so it survives {@link toDocument}.
 *
 * @since 0.1.0
 * @category conditions
 */
export const sameKey = <const Key extends string>(field: Key): SameKey<Key> => ({ _tag: "SameKey", field })

/**
 * The proposed type conflicts with the committed types listed (adding to what earlier rules for it listed), and
 * with every committed type the registry does not know. After {@link always} for the same type it changes nothing:
 * listing types never narrows an explicit `always`.
 *
 * @example
 * ```ts
 * import { ConflictRegistry } from "@concord/core"
 * import { Schema } from "effect"
 *
 * const ClientEvent = Schema.Union(
 *   Schema.TaggedStruct("ClientValueUpgraded", { value: Schema.Number }),
 *   Schema.TaggedStruct("ClientValueDowngraded", { value: Schema.Number }),
 *   Schema.TaggedStruct("MeetingNoteAdded", { note: Schema.String })
 * )
 *
 * export const registry = ConflictRegistry.make(ClientEvent).pipe(
 *   ConflictRegistry.conflicts("ClientValueUpgraded", ["ClientValueUpgraded", "ClientValueDowngraded"])
 * )
 * ```
 *
 * @since 0.1.0
 * @category rules
 */
export const conflicts: {
  <A extends Tagged, const P extends Tag<A>, const C extends Tag<A>>(
    proposed: P,
    committed: ReadonlyArray<C>
  ): <D extends string>(self: ConflictRegistry<A, D>) => ConflictRegistry<A, D | P>
  <A extends Tagged, D extends string, const P extends Tag<A>, const C extends Tag<A>>(
    self: ConflictRegistry<A, D>,
    proposed: P,
    committed: ReadonlyArray<C>
  ): ConflictRegistry<A, D | P>
} = dual(
  3,
  <A extends Tagged>(self: ConflictRegistry<A, string>, proposed: string, committed: ReadonlyArray<string>) =>
    internal.addPairs(self, proposed, committed, internal.always)
)

/**
 * The proposed type never conflicts, however many events were committed since the writer read the stream.
 *
 * @since 0.1.0
 * @category rules
 */
export const never: {
  <A extends Tagged, const P extends Tag<A>>(
    proposed: P
  ): <D extends string>(self: ConflictRegistry<A, D>) => ConflictRegistry<A, D | P>
  <A extends Tagged, D extends string, const P extends Tag<A>>(
    self: ConflictRegistry<A, D>,
    proposed: P
  ): ConflictRegistry<A, D | P>
} = dual(
  2,
  <A extends Tagged>(self: ConflictRegistry<A, string>, proposed: string) =>
    internal.setRule(self, proposed, internal.listed(new Map()))
)

/**
 * The proposed type conflicts with every committed event. This is the default for a type with no rule; declaring
 * it says so explicitly, which {@link exhaustive} counts as a rule. Later `conflicts`, `conflictsWhen` or `mutual`
 * rules for the same proposed type leave it as it is (the broader rule wins); only {@link never} replaces it.
 *
 * @since 0.1.0
 * @category rules
 */
export const always: {
  <A extends Tagged, const P extends Tag<A>>(
    proposed: P
  ): <D extends string>(self: ConflictRegistry<A, D>) => ConflictRegistry<A, D | P>
  <A extends Tagged, D extends string, const P extends Tag<A>>(
    self: ConflictRegistry<A, D>,
    proposed: P
  ): ConflictRegistry<A, D | P>
} = dual(
  2,
  <A extends Tagged>(self: ConflictRegistry<A, string>, proposed: string) =>
    internal.setRule(self, proposed, internal.all)
)

/**
 * The proposed type conflicts with the committed type only when a payload condition holds: `sameKey(field)`, or a
 * predicate over the two typed events.
 *
 * @example
 * ```ts
 * import { ConflictRegistry } from "@concord/core"
 * import { Schema } from "effect"
 *
 * const ContactEvent = Schema.Union(
 *   Schema.TaggedStruct("ContactEmailChanged", { contactId: Schema.String, email: Schema.String })
 * )
 *
 * // Two changes conflict only when they are to the same contact.
 * export const registry = ConflictRegistry.make(ContactEvent).pipe(
 *   ConflictRegistry.conflictsWhen("ContactEmailChanged", "ContactEmailChanged", ConflictRegistry.sameKey("contactId"))
 * )
 * ```
 *
 * @since 0.1.0
 * @category rules
 */
export const conflictsWhen: {
  <A extends Tagged, const P extends Tag<A>, const C extends Tag<A>>(
    proposed: P,
    committed: C,
    condition: PayloadCondition<WithTag<A, P>, WithTag<A, C>>
  ): <D extends string>(self: ConflictRegistry<A, D>) => ConflictRegistry<A, D | P>
  <A extends Tagged, D extends string, const P extends Tag<A>, const C extends Tag<A>>(
    self: ConflictRegistry<A, D>,
    proposed: P,
    committed: C,
    condition: PayloadCondition<WithTag<A, P>, WithTag<A, C>>
  ): ConflictRegistry<A, D | P>
} = dual(
  4,
  <A extends Tagged>(
    self: ConflictRegistry<A, string>,
    proposed: string,
    committed: string,
    condition: PayloadCondition<any, any>
  ) => internal.addPairs(self, proposed, [committed], internal.condition(condition))
)

/**
 * Declares a conflict in both directions: `first` conflicts with each of `others` and each of `others` with
 * `first`.
 *
 * @since 0.1.0
 * @category rules
 */
export const mutual: {
  <A extends Tagged, const P extends Tag<A>, const C extends Tag<A>>(
    first: P,
    others: ReadonlyArray<C>
  ): <D extends string>(self: ConflictRegistry<A, D>) => ConflictRegistry<A, D | P | C>
  <A extends Tagged, D extends string, const P extends Tag<A>, const C extends Tag<A>>(
    self: ConflictRegistry<A, D>,
    first: P,
    others: ReadonlyArray<C>
  ): ConflictRegistry<A, D | P | C>
} = dual(
  3,
  <A extends Tagged>(self: ConflictRegistry<A, string>, first: string, others: ReadonlyArray<string>) =>
    others.reduce(
      (registry, other) => internal.addPairs(registry, other, [first], internal.always),
      internal.addPairs(self, first, others, internal.always)
    )
)

/**
 * Declares a payload condition in both directions. The condition always receives the `first` type's event first,
 * whichever of the two is the proposed one.
 *
 * @since 0.1.0
 * @category rules
 */
export const mutualWhen: {
  <A extends Tagged, const P extends Tag<A>, const C extends Tag<A>>(
    first: P,
    second: C,
    condition: PayloadCondition<WithTag<A, P>, WithTag<A, C>>
  ): <D extends string>(self: ConflictRegistry<A, D>) => ConflictRegistry<A, D | P | C>
  <A extends Tagged, D extends string, const P extends Tag<A>, const C extends Tag<A>>(
    self: ConflictRegistry<A, D>,
    first: P,
    second: C,
    condition: PayloadCondition<WithTag<A, P>, WithTag<A, C>>
  ): ConflictRegistry<A, D | P | C>
} = dual(
  4,
  <A extends Tagged>(
    self: ConflictRegistry<A, string>,
    first: string,
    second: string,
    condition: PayloadCondition<any, any>
  ) =>
    internal.addPairs(
      internal.addPairs(self, first, [second], internal.condition(condition)),
      second,
      [first],
      internal.condition(internal.flip(condition))
    )
)

/**
 * Tags of `A` that have no rule in a registry that declared `Declared`.
 *
 * @since 0.1.0
 * @category models
 */
export type Undeclared<A extends Tagged, Declared extends string> = Exclude<Tag<A>, Declared>

/**
 * Opt-in exhaustiveness: compiles only when every event tag of the domain has a rule (use {@link always} for a type
 * that conflicts with everything), so adding an event type to the domain forces a decision about it.
 *
 * @example
 * ```ts
 * import { ConflictRegistry } from "@concord/core"
 * import { Schema } from "effect"
 *
 * const ClientEvent = Schema.Union(
 *   Schema.TaggedStruct("ClientValueUpgraded", { value: Schema.Number }),
 *   Schema.TaggedStruct("MeetingNoteAdded", { note: Schema.String }),
 *   Schema.TaggedStruct("ClientArchived", {})
 * )
 *
 * // Leave out any of the three rules and `exhaustive` is a compile error naming the tags without one.
 * export const registry = ConflictRegistry.make(ClientEvent).pipe(
 *   ConflictRegistry.conflicts("ClientValueUpgraded", ["ClientValueUpgraded", "ClientArchived"]),
 *   ConflictRegistry.never("MeetingNoteAdded"),
 *   ConflictRegistry.always("ClientArchived"),
 *   ConflictRegistry.exhaustive
 * )
 * ```
 *
 * @since 0.1.0
 * @category rules
 */
export const exhaustive = <A extends Tagged, D extends string>(
  self:
    & ConflictRegistry<A, D>
    & ([Undeclared<A, D>] extends [never] ? unknown : { readonly "tags without a rule": Undeclared<A, D> })
): ConflictRegistry<A, D> => self

/**
 * Whether one proposed event conflicts with one committed event, both in the store's encoded form
 * ({@link EncodedEvent}: `data` is the encoded event without its `_tag`).
 *
 * @since 0.1.0
 * @category checking
 */
export const isConflict: {
  (
    proposed: EncodedEvent,
    committed: EncodedEvent
  ): <A extends Tagged>(self: ConflictRegistry<A, any>) => boolean
  <A extends Tagged>(
    self: ConflictRegistry<A, any>,
    proposed: EncodedEvent,
    committed: EncodedEvent
  ): boolean
} = dual(3, internalCompiled.isConflict)

/**
 * What a proposed type may conflict with, for a store that narrows its read of the committed events: `All`, or the
 * known types it may conflict with (`types`, with `payload` true when some pair depends on the payloads, which must
 * then be read) and the known types it never conflicts with (`ignored`). A non-empty `types` also means a conflict
 * with every committed type the registry does not know, so a store narrows with `type NOT IN ignored`, never with
 * `type IN types`; an empty `types` (`never`) conflicts with nothing.
 *
 * @since 0.1.0
 * @category models
 */
export type CommittedTypes = internalCompiled.CommittedTypes

/**
 * What a proposed type may conflict with among the committed types: see {@link CommittedTypes}.
 *
 * @since 0.1.0
 * @category checking
 */
export const committedTypesFor: (self: ConflictRegistry<any, any>, proposed: string) => CommittedTypes =
  internalCompiled.committedTypesFor

// -----------------------------------------------------------------------------
// JSON documents
// -----------------------------------------------------------------------------

/**
 * One committed type in a document's `conflictsWith` list: a type name, or a type with a `sameKey` condition.
 *
 * @since 0.1.0
 * @category documents
 */
export type DocumentEntry = string | { readonly type: string; readonly sameKey: string }

/**
 * The JSON form of a registry (its serialisable subset: type lists, `never`, `all`, and `sameKey`):
 *
 * ```json
 * {
 *   "rules": [
 *     { "type": "ClientValueUpgraded", "conflictsWith": ["ClientValueUpgraded", "ClientValueDowngraded"] },
 *     { "type": "MeetingNoteAdded", "conflictsWith": [] },
 *     { "type": "ContactEmailChanged", "conflictsWith": [{ "type": "ContactEmailChanged", "sameKey": "contactId" }] },
 *     { "type": "ClientArchived", "conflictsWith": "all" }
 *   ]
 * }
 * ```
 *
 * @since 0.1.0
 * @category documents
 */
export interface RegistryDocument {
  readonly rules: ReadonlyArray<{
    readonly type: string
    readonly conflictsWith: "all" | ReadonlyArray<DocumentEntry>
  }>
}

/**
 * The Schema of a registry document. Given the domain's event types and their fields it also rejects unknown types,
 * `sameKey` fields the events do not have, and duplicate rules, each with the path of the offending value.
 *
 * @since 0.1.0
 * @category documents
 */
export const RegistryDocument: (
  known?: ReadonlyMap<string, ReadonlySet<string>>
) => Schema.Schema<RegistryDocument> = internalDocument.makeDocumentSchema

/**
 * @since 0.1.0
 * @category type ids
 */
export const InvalidRegistryDocumentTypeId: unique symbol = Symbol.for(
  "@concord/core/ConflictRegistry/InvalidRegistryDocument"
)

/**
 * @since 0.1.0
 * @category type ids
 */
export type InvalidRegistryDocumentTypeId = typeof InvalidRegistryDocumentTypeId

/**
 * A registry document that cannot be read: every issue with the path of the value at fault.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidRegistryDocument extends Schema.TaggedError<InvalidRegistryDocument>()(
  "InvalidRegistryDocument",
  {
    issues: Schema.Array(Schema.Struct({
      path: Schema.Array(Schema.Union(Schema.String, Schema.Number)),
      message: Schema.String
    }))
  }
) {
  /**
   * @since 0.1.0
   */
  declare readonly [InvalidRegistryDocumentTypeId]: InvalidRegistryDocumentTypeId

  /**
   * @since 0.1.0
   */
  override get message(): string {
    return "invalid conflict registry document:\n" +
      this.issues.map((issue) => `  at ${internalDocument.formatPath(issue.path)}: ${issue.message}`).join("\n")
  }
}

markPrototype(InvalidRegistryDocument, InvalidRegistryDocumentTypeId)

/**
 * Whether a value is an instance of {@link InvalidRegistryDocument}, found by its type id: also one decoded from the
 * wire or made by another copy of this package, never a plain object that merely has the same `_tag`.
 *
 * @since 0.1.0
 * @category guards
 */
export const isInvalidRegistryDocument = (u: unknown): u is InvalidRegistryDocument =>
  Predicate.hasProperty(u, InvalidRegistryDocumentTypeId)

/**
 * @since 0.1.0
 * @category type ids
 */
export const UnserializableRulesTypeId: unique symbol = Symbol.for("@concord/core/ConflictRegistry/UnserializableRules")

/**
 * @since 0.1.0
 * @category type ids
 */
export type UnserializableRulesTypeId = typeof UnserializableRulesTypeId

/**
 * A registry holds predicate rules, which have no JSON form; these are the pairs.
 *
 * @since 0.1.0
 * @category errors
 */
export class UnserializableRules extends Schema.TaggedError<UnserializableRules>()("UnserializableRules", {
  pairs: Schema.Array(Schema.Struct({ proposed: Schema.String, committed: Schema.String }))
}) {
  /**
   * @since 0.1.0
   */
  declare readonly [UnserializableRulesTypeId]: UnserializableRulesTypeId

  /**
   * @since 0.1.0
   */
  override get message(): string {
    return "predicate rules have no JSON form: " +
      this.pairs.map((pair) => `${pair.proposed} -> ${pair.committed}`).join(", ")
  }
}

markPrototype(UnserializableRules, UnserializableRulesTypeId)

/**
 * Whether a value is an instance of {@link UnserializableRules}, found by its type id: also one decoded from the wire
 * or made by another copy of this package, never a plain object that merely has the same `_tag`.
 *
 * @since 0.1.0
 * @category guards
 */
export const isUnserializableRules = (u: unknown): u is UnserializableRules =>
  Predicate.hasProperty(u, UnserializableRulesTypeId)

/**
 * The errors of writing a registry to its document and reading it back: every error of this module.
 *
 * @since 0.1.0
 * @category errors
 */
export type RegistryDocumentError = InvalidRegistryDocument | UnserializableRules

/**
 * Whether a value is one of this module's errors, a {@link RegistryDocumentError}: an instance of one of its classes.
 *
 * @since 0.1.0
 * @category guards
 */
export const isRegistryDocumentError = (u: unknown): u is RegistryDocumentError =>
  isInvalidRegistryDocument(u) || isUnserializableRules(u)

/**
 * The JSON document of a registry, or the predicate rules that keep it from having one. The document is plain data:
 * `JSON.stringify` it to write the file that {@link fromDocument} reads. (`JSON.stringify(registry)` itself writes
 * the registry's debug form, its `toJSON()` as every Effect value has, which is not a document.)
 *
 * @since 0.1.0
 * @category documents
 */
export const toDocument = (self: ConflictRegistry<any, any>): Either.Either<RegistryDocument, UnserializableRules> =>
  Either.mapLeft(internalDocument.toDocument(self), (pairs) => new UnserializableRules({ pairs }))

/**
 * Reads a registry from its JSON document. With the domain's Schema the result is typed and the document is
 * checked against the domain's event types and fields; without one any type names are accepted.
 *
 * @since 0.1.0
 * @category documents
 */
export const fromDocument: {
  <A extends Tagged>(
    input: unknown,
    schema: EventSchema<A>
  ): Either.Either<ConflictRegistry<A>, InvalidRegistryDocument>
  (input: unknown): Either.Either<ConflictRegistry<Tagged>, InvalidRegistryDocument>
} = (input: unknown, schema?: EventSchema<any>): Either.Either<any, InvalidRegistryDocument> =>
  Either.mapLeft(internalDocument.fromDocument(input, schema), (issues) => new InvalidRegistryDocument({ issues }))
