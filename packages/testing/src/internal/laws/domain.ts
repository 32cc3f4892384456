// What the laws know of a domain from its Schemas: its tags, an arbitrary per tag, and the fields that rules and
// commands key on, drawn from small per-case pools so that "same key" and "different key" both occur often.
import * as Arbitrary from "effect/Arbitrary"
import * as FastCheck from "effect/FastCheck"
import * as Schema from "effect/Schema"
import * as AST from "effect/SchemaAST"

/** Where generated values come from: a Schema (its arbitrary is derived) or an arbitrary. */
export type Source<A> = Schema.Schema<A, any, never> | FastCheck.Arbitrary<A>

/** One tagged member of a union Schema: its arbitrary, its fields and a guard for its type. */
export interface Member {
  readonly tag: string
  readonly arbitrary: FastCheck.Arbitrary<any>
  readonly fields: ReadonlyMap<string, AST.AST>
  readonly is: (u: unknown) => boolean
}

/** What the laws can read from a source: its tagged members, when it is a Schema of tagged structs. */
export interface Shape<A> {
  readonly arbitrary: FastCheck.Arbitrary<A>
  readonly members: ReadonlyMap<string, Member>
}

const tagOf = (ast: AST.AST): string | undefined => {
  if (!AST.isTypeLiteral(ast)) return undefined
  const tag = ast.propertySignatures.find((property) => property.name === "_tag")
  return tag !== undefined && AST.isLiteral(tag.type) && typeof tag.type.literal === "string"
    ? tag.type.literal
    : undefined
}

const fieldsOf = (ast: AST.AST): ReadonlyMap<string, AST.AST> =>
  new Map(
    AST.isTypeLiteral(ast)
      ? ast.propertySignatures.flatMap((property) =>
        typeof property.name === "string" && property.name !== "_tag" ? [[property.name, property.type]] : []
      )
      : []
  )

const membersOf = (schema: Schema.Schema<any, any, never>): ReadonlyMap<string, Member> => {
  const members = new Map<string, Member>()
  const visited = new Set<AST.AST>()
  // Unions nest, and a union or a member may be refined or suspended: the members are the tagged structs inside.
  // `outer` is what values must satisfy (a member's own refinement included); the struct gives the tag and fields.
  const collect = (ast: AST.AST, outer: AST.AST): void => {
    if (visited.has(ast)) return
    visited.add(ast)
    switch (ast._tag) {
      case "Union":
        return ast.types.forEach((type) => collect(type, type))
      case "Refinement":
        return collect(ast.from, outer)
      case "Suspend":
        return collect(ast.f(), outer)
      case "TypeLiteral": {
        const tag = tagOf(ast)
        if (tag === undefined || members.has(tag)) return
        const member = Schema.make(outer)
        members.set(tag, { tag, arbitrary: Arbitrary.make(member), fields: fieldsOf(ast), is: Schema.is(member) })
      }
    }
  }
  const ast = Schema.typeSchema(schema).ast
  collect(ast, ast)
  return members
}

/**
 * Fast-check's settings a law fixes for its own runs and samples, whatever the global configuration says: a global
 * `path`, time limit or `endOnFailure` meant for the user's other properties must not cut a law's runs short.
 */
export const isolated = {
  path: undefined,
  examples: [],
  endOnFailure: false,
  interruptAfterTimeLimit: undefined,
  skipAllAfterTimeLimit: undefined,
  markInterruptAsFailure: false,
  timeout: undefined,
  skipEqualValues: false,
  ignoreEqualValues: false,
  unbiased: false,
  verbose: 0,
  reporter: undefined,
  asyncReporter: undefined
} as unknown as FastCheck.Parameters<any>

/** The shape of a source: a Schema's tagged members, or none for a bare arbitrary. */
export const shapeOf = <A>(source: Source<A>): Shape<A> =>
  Schema.isSchema(source)
    ? { arbitrary: Arbitrary.make(source as Schema.Schema<A, any, never>), members: membersOf(source as any) }
    : { arbitrary: source as FastCheck.Arbitrary<A>, members: new Map() }

/** The values of a value's tag, when it has one. */
export const tagOfValue = (u: unknown): string | undefined =>
  typeof u === "object" && u !== null && "_tag" in u && typeof u._tag === "string" ? u._tag : undefined

/**
 * The fields worth drawing from small pools: those `named` (the registry's `sameKey` fields and the caller's `keys`)
 * and every field that two or more members of the shapes share, which is what a rule or a command keys on.
 */
export const keyFields = (
  shapes: ReadonlyArray<Shape<unknown>>,
  named: Iterable<string>
): ReadonlyMap<string, AST.AST> => {
  const seen = new Map<string, { readonly ast: AST.AST; count: number }>()
  for (const shape of shapes) {
    for (const member of shape.members.values()) {
      for (const [field, ast] of member.fields) {
        const entry = seen.get(field)
        if (entry === undefined) seen.set(field, { ast, count: 1 })
        else entry.count++
      }
    }
  }
  const keys = new Map<string, AST.AST>()
  for (const field of named) {
    const entry = seen.get(field)
    if (entry !== undefined) keys.set(field, entry.ast)
  }
  for (const [field, entry] of seen) if (entry.count > 1) keys.set(field, entry.ast)
  return keys
}

/** The values of each key field for one case: a few per field, so that generated values often share them. */
export type Pool = ReadonlyMap<string, ReadonlyArray<unknown>>

/** How many values a pool holds per field. */
export const poolSize = 3

const distinct = (values: ReadonlyArray<unknown>): ReadonlyArray<unknown> => {
  const seen = new Set<string>()
  return values.filter((value) => {
    const key = JSON.stringify(value) ?? String(value)
    return seen.has(key) ? false : (seen.add(key), true)
  })
}

/** An arbitrary of pools for the key fields. */
export const pools = (keys: ReadonlyMap<string, AST.AST>): FastCheck.Arbitrary<Pool> => {
  const fields = Array.from(
    keys,
    ([field, ast]) =>
      // Distinct values where the field has them: a pool of one value would make every pooled key equal.
      FastCheck.array(Arbitrary.make(Schema.make(ast)), { minLength: 4 * poolSize, maxLength: 4 * poolSize }).map((
        values
      ) => [field, distinct(values).slice(0, poolSize)] as const)
  )
  return FastCheck.tuple(...fields).map((entries) => new Map(entries))
}

/**
 * A value drawn with its key fields open: `resolve` takes a pool and puts pooled values in the key fields (a pick
 * of `poolSize` keeps the value's own), keeping the result only when it still belongs to its member.
 */
export interface Keyed<A> {
  readonly value: A
  readonly picks: ReadonlyArray<number>
}

/** Draws a value of `arbitrary` with a pick per key field; shrinking a pick goes to the pool's first value. */
export const keyed = <A>(
  arbitrary: FastCheck.Arbitrary<A>,
  keys: ReadonlyMap<string, AST.AST>
): FastCheck.Arbitrary<Keyed<A>> =>
  FastCheck.tuple(
    arbitrary,
    FastCheck.array(FastCheck.nat({ max: poolSize }), { minLength: keys.size, maxLength: keys.size })
  ).map(([value, picks]) => ({ value, picks }))

/** Puts the pool's values in a drawn value's key fields, where its member takes them. */
export const resolve = <A>(
  drawn: Keyed<A>,
  pool: Pool,
  keys: ReadonlyMap<string, AST.AST>,
  members: ReadonlyMap<string, Member>
): A => {
  const tag = tagOfValue(drawn.value)
  const member = tag === undefined ? undefined : members.get(tag)
  if (member === undefined) return drawn.value
  let value: Record<string, unknown> | undefined
  let i = 0
  for (const field of keys.keys()) {
    const pick = drawn.picks[i++] ?? poolSize
    const pooled = pool.get(field)
    if (pooled === undefined || pick >= pooled.length || !member.fields.has(field)) continue
    value ??= { ...(drawn.value as Record<string, unknown>) }
    value[field] = pooled[pick]
  }
  // A field two members share under different Schemas may not take the other's value: keep what was drawn.
  return value !== undefined && member.is(value) ? value as A : drawn.value
}

/** An arbitrary of one member's values, or of every value when the source has no such member. */
export const memberArbitrary = <A>(shape: Shape<A>, tag: string): FastCheck.Arbitrary<A> =>
  shape.members.get(tag)?.arbitrary ?? shape.arbitrary.filter((value) => tagOfValue(value) === tag)

/**
 * Whether encoding values of the AST changes nothing: no transformation and no declaration (a class) anywhere in it.
 * Then an event's encoded form is the event itself, and the laws skip the Schema's encoder.
 */
export const encodesAsItself = (ast: AST.AST): boolean => {
  switch (ast._tag) {
    case "Transformation":
    case "Declaration":
    case "Suspend":
      return false
    case "Refinement":
      return encodesAsItself(ast.from)
    case "Union":
      return ast.types.every(encodesAsItself)
    case "TupleType":
      return ast.elements.every((element) => encodesAsItself(element.type)) &&
        ast.rest.every((rest) => encodesAsItself(rest.type))
    case "TypeLiteral":
      return ast.propertySignatures.every((property) => encodesAsItself(property.type)) &&
        ast.indexSignatures.every((index) => encodesAsItself(index.type))
    default:
      return true
  }
}
