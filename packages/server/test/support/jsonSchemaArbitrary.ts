// Values a JSON Schema accepts, as a fast-check arbitrary: the subset of JSON Schema the service's OpenAPI document
// uses (type, properties, required, additionalProperties, enum/const, minimum/maximum, minLength/maxLength, pattern,
// items/minItems/maxItems, anyOf/oneOf, $ref to the document's components). A schema using anything else throws, so
// that the document cannot grow a keyword the contract test silently ignores.
import { FastCheck as fc } from "effect"

export type JsonSchema = { readonly [key: string]: any }

const known = new Set([
  "type",
  "properties",
  "required",
  "additionalProperties",
  "propertyNames",
  "enum",
  "const",
  "minimum",
  "maximum",
  "minLength",
  "maxLength",
  "pattern",
  "format",
  "items",
  "minItems",
  "maxItems",
  "anyOf",
  "oneOf",
  "discriminator",
  "$ref",
  "description",
  "title"
])

/** Whether a string is well-formed UTF-16: no unpaired surrogate. */
export const isWellFormed = (s: string) => !/\p{Cs}/u.test(s)

/** A string of well-formed UTF-16: JSON text can carry an unpaired surrogate, but no rule of the service keeps one. */
const text = (minLength: number, maxLength: number) =>
  fc.string({ unit: "binary", minLength, maxLength: Math.min(maxLength, minLength + 1_024) }).filter(isWellFormed)

/** Strings a pattern accepts, within lengths in code points (as JSON Schema counts them). */
const matching = (pattern: string, minLength: number, maxLength: number): fc.Arbitrary<string> => {
  const regex = new RegExp(pattern, "u")
  const fits = (s: string) => {
    const length = Array.from(s).length
    return isWellFormed(s) && length >= minLength && length <= maxLength && regex.test(s)
  }
  try {
    // fast-check reads the pattern without the `u` flag: what it makes is checked against the pattern as ajv reads it.
    // It makes any UTF-16 unit where a class allows it: an unpaired surrogate becomes a letter rather than a reject.
    return fc.stringMatching(new RegExp(pattern)).map((s) => s.replace(/\p{Cs}/gu, "x")).filter(fits)
  } catch {
    // Lookaheads and the like: any text, kept when it matches.
    return text(minLength, maxLength).filter(fits)
  }
}

export interface Options {
  /** The document whose `#/components/schemas/…` a `$ref` names. */
  readonly document: JsonSchema
  /** How deep arbitrary JSON (a schema without type) and recursive schemas nest. */
  readonly maxDepth?: number | undefined
  /** How deep the schema being made sits. */
  readonly depth?: number | undefined
  /** The most items an array without `maxItems` gets, and the most characters of a string without `maxLength`. */
  readonly maxSize?: number | undefined
}

export const resolve = (schema: JsonSchema, document: JsonSchema): JsonSchema =>
  typeof schema.$ref === "string"
    ? resolve(document.components.schemas[schema.$ref.slice("#/components/schemas/".length)], document)
    : schema

/** An arbitrary of the values `schema` accepts. */
export const arbitrary = (schema: JsonSchema, options: Options): fc.Arbitrary<unknown> => {
  const maxSize = options.maxSize ?? 8
  const resolved = resolve(schema, options.document)
  for (const keyword of Object.keys(resolved)) {
    if (!known.has(keyword)) throw new Error(`jsonSchemaArbitrary: unsupported keyword ${keyword}`)
  }
  if (resolved.const !== undefined) return fc.constant(resolved.const)
  if (Array.isArray(resolved.enum)) return fc.constantFrom(...resolved.enum)
  const members: ReadonlyArray<JsonSchema> | undefined = resolved.anyOf ?? resolved.oneOf
  if (Array.isArray(members)) {
    // Past the depth, only the members that do not nest: a recursive schema ends.
    const depth = options.depth ?? 0
    const flat = members.filter((member) => !["array", "object"].includes(resolve(member, options.document).type))
    const chosen = depth >= (options.maxDepth ?? 3) && flat.length > 0 ? flat : members
    return fc.oneof(...chosen.map((member) => arbitrary(member, options)))
  }
  switch (resolved.type) {
    case "string": {
      if (resolved.format !== undefined && resolved.format !== "date-time") {
        throw new Error(`jsonSchemaArbitrary: unsupported format ${resolved.format}`)
      }
      if (resolved.format === "date-time") return fc.date({ noInvalidDate: true }).map((date) => date.toISOString())
      const minLength = resolved.minLength ?? 0
      // A pattern bounds its strings itself where the schema does not.
      return typeof resolved.pattern === "string"
        ? matching(resolved.pattern, minLength, resolved.maxLength ?? Number.POSITIVE_INFINITY)
        : text(minLength, resolved.maxLength ?? minLength + maxSize)
    }
    case "integer":
      return fc.integer({
        min: resolved.minimum ?? Number.MIN_SAFE_INTEGER,
        max: resolved.maximum ?? Number.MAX_SAFE_INTEGER
      })
    case "number":
      return fc.double({ min: resolved.minimum, max: resolved.maximum, noNaN: true, noDefaultInfinity: true })
    case "boolean":
      return fc.boolean()
    case "null":
      return fc.constant(null)
    case "array":
      return fc.array(arbitrary(resolved.items ?? {}, { ...options, depth: (options.depth ?? 0) + 1 }), {
        minLength: resolved.minItems ?? 0,
        maxLength: Math.min(resolved.maxItems ?? maxSize, (resolved.minItems ?? 0) + maxSize)
      })
    case "object": {
      const properties: Record<string, JsonSchema> = resolved.properties ?? {}
      if (Object.keys(properties).length === 0 && resolved.additionalProperties !== false) {
        const deeper = { ...options, depth: (options.depth ?? 0) + 1 }
        const values = typeof resolved.additionalProperties === "object"
          ? arbitrary(resolved.additionalProperties, deeper)
          : json(options)
        const keys = resolved.propertyNames === undefined ? text(0, 8) : arbitrary(resolved.propertyNames, options)
        return fc.dictionary(keys as fc.Arbitrary<string>, values, { maxKeys: 4 })
      }
      const required: ReadonlyArray<string> = resolved.required ?? []
      return fc.record(
        Object.fromEntries(Object.entries(properties).map(([key, value]) => [key, arbitrary(value, options)])),
        { requiredKeys: Object.keys(properties).filter((key) => required.includes(key)) }
      )
    }
    case undefined:
      return json(options)
    default:
      throw new Error(`jsonSchemaArbitrary: unsupported type ${resolved.type}`)
  }
}

/** Any JSON value, its strings well-formed. */
const json = (options: Options) =>
  fc.jsonValue({ maxDepth: options.maxDepth ?? 3, stringUnit: "binary" }).filter((value) =>
    // JSON.stringify writes an unpaired surrogate as an escape, a pair as it is.
    !/\\u[dD][89a-fA-F]/.test(JSON.stringify(value))
  )
