// The service's OpenAPI document as a third party reads it: served by a running service, its schemas compiled by ajv
// in strict mode (JSON Schema 2020-12, formats checked).
import { Registries } from "@concord/server"
import addFormats from "ajv-formats"
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js"
import { Effect, Either } from "effect"
import * as fs from "node:fs"

const registryDocument = JSON.parse(
  fs.readFileSync(new URL("../../../example-crm/registry.json", import.meta.url), "utf8")
) as unknown

/** The CRM example's conflict registry, as `concord serve --registry` reads it. */
export const crmRegistries = Either.getOrThrow(Registries.fromDocument(registryDocument))

/** A JSON object of the document, walked loosely. */
export type Json = { readonly [key: string]: any }

export const fetchDocument = (url: string, token?: string) =>
  Effect.promise(async () => {
    const response = await fetch(`${url}/docs/openapi.json`, {
      headers: token === undefined ? {} : { authorization: `Bearer ${token}` }
    })
    if (response.status !== 200) throw new Error(`GET /docs/openapi.json: ${response.status}`)
    return (await response.json()) as Json
  })

export const methods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"] as const

/** Every operation of the document: its path, method and the operation object. */
export const operationsOf = (document: Json) =>
  Object.entries(document.paths as Json).flatMap(([path, item]) =>
    methods.filter((method) => item[method] !== undefined).map((method) => ({
      path,
      method,
      operation: item[method] as Json
    }))
  )

const base = "https://concord.invalid/openapi.json"

/** The document's references to its components, absolute so that any schema compiled alone can follow them. */
const absoluteRefs = (node: unknown): unknown => {
  if (Array.isArray(node)) return node.map(absoluteRefs)
  if (typeof node !== "object" || node === null) return node
  return Object.fromEntries(
    Object.entries(node).map(([key, value]) => [
      key,
      key === "$ref" && typeof value === "string" && value.startsWith("#/components/schemas/")
        ? `${base}#/$defs/${value.slice("#/components/schemas/".length)}`
        : absoluteRefs(value)
    ])
  )
}

/**
 * Ajv does not take a discriminator's `mapping` (it reads the mapping off the members' `_tag`s, and the document test
 * checks the two agree): it is left out of what ajv compiles, the rest as it is.
 */
const withoutMappings = (node: unknown): unknown => {
  if (Array.isArray(node)) return node.map(withoutMappings)
  if (typeof node !== "object" || node === null) return node
  return Object.fromEntries(
    Object.entries(node).map(([key, value]) => {
      if (key === "discriminator" && typeof value === "object" && value !== null) {
        const { mapping: _mapping, ...rest } = value as Json
        return [key, rest]
      }
      return [key, withoutMappings(value)]
    })
  )
}

export interface Compiled {
  readonly ajv: Ajv2020
  /** Compiles a schema of the document (a component, a response's or request's), failing on anything strict refuses. */
  readonly compile: (schema: unknown) => ValidateFunction
}

/** Ajv 8 in strict mode over the document's components, `discriminator` read and formats checked. */
export const compileDocument = (document: Json): Compiled => {
  const ajv = new Ajv2020({ strict: true, discriminator: true, allErrors: true })
  addFormats.default(ajv as never)
  ajv.addSchema(withoutMappings(absoluteRefs({ $id: base, $defs: document.components.schemas })) as object)
  // Compiled once per schema: ajv compiles a schema object each time it is given a new one.
  const compiled = new Map<unknown, ValidateFunction>()
  const compile = (schema: unknown) => {
    const known = compiled.get(schema)
    if (known !== undefined) return known
    const validate = ajv.compile(withoutMappings(absoluteRefs(schema)) as object)
    compiled.set(schema, validate)
    return validate
  }
  return { ajv, compile }
}

/** The schema a component of the document names, to compile. */
export const componentRef = (name: string) => ({ $ref: `#/components/schemas/${name}` })

/** A response object, its `$ref` to `components.responses` followed. */
export const resolveResponse = (document: Json, response: Json): Json =>
  typeof response.$ref === "string"
    ? document.components.responses[response.$ref.slice("#/components/responses/".length)]
    : response
