import * as Either from "effect/Either"
import { format } from "effect/Inspectable"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type { Condition, ConflictRegistry, RegistryDocument, Rule } from "../ConflictRegistry.js"
import type { EventSchema, Tagged } from "../Event.js"
import { all, always, debugId, listed, make } from "./conflictRegistry.js"
import * as internalEvent from "./event.js"

/**
 * A value that fails every member of a union is reported once per member: keep the issues that say most. An issue
 * is dropped when another one points deeper into the same value, or when it only says what a member expected while
 * another issue at the same path says what is wrong.
 */
export const mostSpecific = <I extends { readonly path: ReadonlyArray<string | number>; readonly message: string }>(
  issues: ReadonlyArray<I>
): ReadonlyArray<I> => {
  const key = (path: ReadonlyArray<string | number>) => JSON.stringify(path)
  const deeper = (outer: I, inner: I) =>
    inner.path.length > outer.path.length && outer.path.every((segment, i) => inner.path[i] === segment)
  const saysWhy = (issue: I) => !issue.message.startsWith("Expected ")
  return issues.filter((issue) =>
    !issues.some((other) => deeper(issue, other)) &&
    (saysWhy(issue) || !issues.some((other) => key(other.path) === key(issue.path) && saysWhy(other)))
  )
}

/** @internal */
export const formatPath = (path: ReadonlyArray<string | number>): string =>
  path.length === 0
    ? "the document root"
    : path.map((key, i) => typeof key === "number" ? `[${key}]` : i === 0 ? key : `.${key}`).join("")

const entryType = (entry: string | { readonly type: string }): string => typeof entry === "string" ? entry : entry.type

/** @internal */
export const makeDocumentSchema = (
  known?: ReadonlyMap<string, ReadonlySet<string>>
): Schema.Schema<RegistryDocument> => {
  const Type = known === undefined
    ? Schema.String.pipe(Schema.minLength(1))
    : Schema.Literal(...Array.from(known.keys())).annotations({
      message: (issue) => ({
        message: `unknown event type ${format(issue.actual)}; the known types are ${
          Array.from(known.keys()).join(", ")
        }`,
        override: true
      })
    })
  const Entry = Schema.Union(Type, Schema.Struct({ type: Type, sameKey: Schema.String.pipe(Schema.minLength(1)) }))
  const Rule = Schema.Struct({
    type: Type,
    conflictsWith: Schema.Union(Schema.Literal("all"), Schema.Array(Entry))
  }).pipe(Schema.filter((rule) => {
    if (rule.conflictsWith === "all") return undefined
    const issues: Array<Schema.FilterIssue> = []
    const seen = new Set<string>()
    rule.conflictsWith.forEach((entry, i) => {
      const type = entryType(entry)
      if (seen.has(type)) issues.push({ path: ["conflictsWith", i], message: `${type} is listed twice` })
      seen.add(type)
      if (typeof entry === "string" || known === undefined) return
      for (const side of new Set([rule.type, entry.type])) {
        if (known.get(side)?.has(entry.sameKey) !== true) {
          issues.push({ path: ["conflictsWith", i, "sameKey"], message: `${side} has no field ${entry.sameKey}` })
        }
      }
    })
    return issues
  }))
  return Schema.Struct({
    rules: Schema.Array(Rule).pipe(Schema.filter((rules) => {
      const issues: Array<Schema.FilterIssue> = []
      const seen = new Set<string>()
      rules.forEach((rule, i) => {
        if (seen.has(rule.type)) issues.push({ path: [i, "type"], message: `a second rule for ${rule.type}` })
        seen.add(rule.type)
      })
      return issues
    }))
  })
}

/** @internal */
export const toDocument = (
  self: ConflictRegistry<any, any>
): Either.Either<RegistryDocument, ReadonlyArray<{ readonly proposed: string; readonly committed: string }>> => {
  const predicates: Array<{ proposed: string; committed: string }> = []
  const rules = Array.from(self.rules, ([type, rule]) => {
    if (rule._tag === "All") return { type, conflictsWith: "all" as const }
    const conflictsWith = Array.from(rule.committed, ([committed, when]) => {
      if (when._tag === "When") predicates.push({ proposed: type, committed })
      return when._tag === "SameKey" ? { type: committed, sameKey: when.field } : committed
    })
    return { type, conflictsWith }
  })
  return predicates.length > 0 ? Either.left(predicates) : Either.right({ rules })
}

const toRegistry = <A extends Tagged>(
  schema: EventSchema<A> | undefined,
  document: RegistryDocument
): ConflictRegistry<A, never> =>
  make(
    schema,
    new Map(document.rules.map((rule): [string, Rule] => [
      rule.type,
      rule.conflictsWith === "all" ? all : listed(
        new Map(rule.conflictsWith.map((entry): [string, Condition] =>
          typeof entry === "string" ? [entry, always] : [entry.type, { _tag: "SameKey", field: entry.sameKey }]
        ))
      )
    ]))
  )

/** @internal */
export interface Issue {
  readonly path: ReadonlyArray<string | number>
  readonly message: string
}

// What `JSON.stringify(registry)` writes is easily taken for the document: say so rather than list its differences.
const isDebugForm = (input: unknown): boolean =>
  typeof input === "object" && input !== null && (input as { readonly _id?: unknown })._id === debugId

/** @internal */
export const fromDocument = <A extends Tagged>(
  input: unknown,
  schema: EventSchema<A> | undefined
): Either.Either<ConflictRegistry<A, never>, ReadonlyArray<Issue>> => {
  if (isDebugForm(input)) {
    return Either.left([{
      path: [],
      message: "this is a registry's debug form (its toJSON(), which JSON.stringify writes), not its document: " +
        "write the document with ConflictRegistry.toDocument"
    }])
  }
  const documentSchema = makeDocumentSchema(schema === undefined ? undefined : internalEvent.fields(schema))
  return Schema.decodeUnknownEither(documentSchema, { errors: "all", onExcessProperty: "error" })(input).pipe(
    Either.mapBoth({
      onLeft: (error) =>
        mostSpecific(
          ParseResult.ArrayFormatter.formatErrorSync(error).map((issue): Issue => ({
            path: issue.path.map((key) => typeof key === "number" ? key : String(key)),
            message: issue.message
          }))
        ),
      onRight: (document) => toRegistry(schema, document)
    })
  )
}
