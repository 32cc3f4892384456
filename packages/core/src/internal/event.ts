import * as AST from "effect/SchemaAST"
import type { EncodedEvent, EventSchema, Tag, Tagged } from "../Event.js"

const collectFields = (ast: AST.AST, into: Map<string, ReadonlySet<string>>): void => {
  switch (ast._tag) {
    case "Union":
      for (const member of ast.types) collectFields(member, into)
      return
    case "Suspend":
      return collectFields(ast.f(), into)
    case "Refinement":
      return collectFields(ast.from, into)
    case "TypeLiteral": {
      const tag = ast.propertySignatures.find((signature) => signature.name === "_tag")
      if (tag !== undefined && AST.isLiteral(tag.type) && typeof tag.type.literal === "string") {
        const fields = ast.propertySignatures.map((signature) => String(signature.name))
        into.set(tag.type.literal, new Set(fields.filter((name) => name !== "_tag")))
      }
      return
    }
    default:
      return
  }
}

/**
 * Each event type of a domain Schema with the names of its encoded fields.
 *
 * @internal
 */
export const fields = <A extends Tagged>(schema: EventSchema<A>): ReadonlyMap<Tag<A>, ReadonlySet<string>> => {
  const found = new Map<string, ReadonlySet<string>>()
  // The encoded side of tagged structs and tagged classes alike is a type literal with a literal `_tag`.
  collectFields(AST.encodedAST(schema.ast), found)
  return found as Map<Tag<A>, ReadonlySet<string>>
}

/** @internal */
export const tags = <A extends Tagged>(schema: EventSchema<A>): ReadonlyArray<Tag<A>> =>
  Array.from(fields(schema).keys())

/** @internal */
export const split = (encoded: unknown): EncodedEvent<any> => {
  const { _tag, ...data } = encoded as { readonly _tag: string }
  return { type: _tag, data }
}

/** @internal */
export const join = (event: EncodedEvent): unknown =>
  typeof event.data === "object" && event.data !== null && !Array.isArray(event.data)
    ? { ...event.data, _tag: event.type }
    : event.data // not an object: left as it is, so the domain Schema rejects it with its own message
