// The OpenAPI document as the service serves it: what `OpenApi.fromApi` makes of `ConcordApi`, completed where the
// platform cannot say it from the schemas. Each step says what the platform leaves out and why it is done here.
import type { HttpApi, OpenApi } from "@effect/platform"
import { OpenApi as OpenApiTags } from "@effect/platform"

/**
 * The version of the API the document states: the package's own (a test holds it equal to `package.json`'s).
 *
 * @internal
 */
export const version = "0.1.0"

/**
 * Where the API is: relative to the document itself, so that it holds whatever host, port or proxy serves it.
 *
 * @internal
 */
export const servers: ReadonlyArray<OpenApi.OpenAPISpecServer> = [{
  url: "/",
  description: "The service that serves this document"
}]

/** A JSON Schema or any part of the document, as it is walked and rewritten. */
type Node = { [key: string]: unknown }

const isNode = (value: unknown): value is Node => typeof value === "object" && value !== null && !Array.isArray(value)

/** No NUL character, which PostgreSQL cannot store in text. */
const noNul = "^[^\\u0000]*$"

const ref = (name: string, kind: "schemas" | "responses" = "schemas") => ({ $ref: `#/components/${kind}/${name}` })

/**
 * `Schema.Unknown` (an event's `data`) becomes `{ "$id": "/schemas/unknown" }` wherever it appears, and a document
 * holding one `$id` at several places cannot be compiled by a strict validator. Every such place refers to one
 * component instead.
 */
const replaceUnknown = (node: unknown): unknown => {
  if (Array.isArray(node)) return node.map(replaceUnknown)
  if (!isNode(node)) return node
  if (node.$id === "/schemas/unknown") return ref("JsonValue")
  return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, replaceUnknown(value)]))
}

const unpairedSurrogates = "What JSON Schema cannot express: no unpaired UTF-16 surrogate either (no store keeps " +
  "one exactly), refused with a 400."

const streamIdRules = "A stream id is 1 to 512 characters (Unicode code points) long, holds no NUL character, and is " +
  "neither `.` nor `..` (no URL can address those). The pattern says all but one rule, which JSON Schema cannot " +
  "express: an id holds no unpaired UTF-16 surrogate (text in JSON is UTF-16; such ids are refused with a 400). In a " +
  "path it is percent-encoded (`encodeURIComponent`)."

/** A string without NUL: the rule of every string a store keeps, the keys and strings of event data included. */
const noNulString = { type: "string", pattern: noNul }

/**
 * Event data and metadata as the stores keep them: JSON whose strings and keys hold no NUL (the core's `Event` checks
 * refuse one, as PostgreSQL's `jsonb` cannot store it). `Schema.Unknown` and a declared `Metadata` say nothing of it.
 */
const jsonValue = {
  description: "Any JSON value whose strings and keys hold no NUL character. What JSON Schema cannot express: no " +
    "unpaired UTF-16 surrogate either, at most 64 arrays and objects inside one another, and numbers a JavaScript " +
    "number (an IEEE 754 double) carries exactly; the service refuses anything else with a 400 rather than change it.",
  anyOf: [
    noNulString,
    { type: "number" },
    { type: "boolean" },
    { type: "null" },
    { type: "array", items: ref("JsonValue") },
    { type: "object", propertyNames: noNulString, additionalProperties: ref("JsonValue") }
  ]
}

/** The core's schemas say what the platform cannot read off their filters: formats and patterns. */
const refineComponents = (schemas: Node) => {
  schemas.JsonValue = jsonValue
  if (isNode(schemas.Metadata)) {
    schemas.Metadata = {
      type: "object",
      description: "Free-form data about an event: a JSON object, its keys and strings without NUL (see JsonValue)",
      propertyNames: noNulString,
      additionalProperties: ref("JsonValue")
    }
  }
  if (isNode(schemas.Date)) {
    // `Schema.Date` encodes with `Date.prototype.toISOString`.
    schemas.Date = { type: "string", format: "date-time", description: "An instant, as ISO 8601 in UTC" }
  }
  if (isNode(schemas.PositionFromString)) {
    schemas.PositionFromString = {
      type: "string",
      pattern: "^(?:0|[1-9][0-9]{0,19}|[1-9][0-9]{0,19}\\.(?:0|[1-9][0-9]{0,19}))$",
      description: "A place in the global log: `<sequence>` or `<commit>.<sequence>` in decimal without leading " +
        "zeros, each part at most 2^64 - 1 (which the pattern does not say), the commit not 0"
    }
  }
  if (isNode(schemas.StreamId)) {
    const { title: _title, ...streamId } = schemas.StreamId
    schemas.StreamId = { ...streamId, pattern: "^(?!\\.\\.?$)[^\\u0000]*$", description: streamIdRules }
  }
  for (const [name, what] of [["EventId", "An event's id"], ["EventType", "An event's type"]] as const) {
    if (isNode(schemas[name])) {
      const { title: _title, ...text } = schemas[name]
      schemas[name] = {
        ...text,
        pattern: noNul,
        description: `${what}: ${text.minLength} to ${text.maxLength} characters (Unicode code points) without a NUL ` +
          `character. ${unpairedSurrogates}`
      }
    }
  }
}

/**
 * The platform lists a union of errors as `anyOf`, some members inline. Every error has a `_tag` of its own, so the
 * union is a `oneOf` with a discriminator, each member a component named by its tag.
 */
const discriminate = (schema: Node, schemas: Node): Node => {
  const members = schema.anyOf
  if (!Array.isArray(members) || members.length < 2) return schema
  const mapping: Record<string, string> = {}
  for (const member of members) {
    const tag = tagOf(member, schemas)
    if (tag === undefined) return schema
    if (!("$ref" in member)) schemas[tag] ??= member
    mapping[tag] = `#/components/schemas/${tag}`
  }
  const { anyOf: _anyOf, ...rest } = schema
  return {
    ...rest,
    type: "object",
    oneOf: Object.values(mapping).map(($ref) => ({ $ref })),
    discriminator: { propertyName: "_tag", mapping }
  }
}

/** The single `_tag` a member of a union has, or `undefined`. */
const tagOf = (member: unknown, schemas: Node): string | undefined => {
  if (!isNode(member)) return undefined
  const resolved = typeof member.$ref === "string" ? schemas[member.$ref.replace("#/components/schemas/", "")] : member
  if (!isNode(resolved) || !isNode(resolved.properties) || !Array.isArray(resolved.required)) return undefined
  const tag = resolved.properties._tag
  if (!resolved.required.includes("_tag") || !isNode(tag) || !Array.isArray(tag.enum) || tag.enum.length !== 1) {
    return undefined
  }
  return typeof tag.enum[0] === "string" ? tag.enum[0] : undefined
}

const jsonResponse = (description: string, schema: string) => ({
  description,
  content: { "application/json": { schema: ref(schema) } }
})

/**
 * The answers no endpoint declares: the router's (no endpoint has the path, or not the method) and Node's (the
 * request line and headers too large or too slow, answered before the API sees the request). An operation cannot
 * list a status for a path or a method it does not have, so they are components, referred to from each path
 * (`x-other-methods`) and from the document (`x-unrouted`).
 */
const unroutedResponses = {
  NotFound: jsonResponse("No endpoint has the request's path", "NotFound"),
  MethodNotAllowed: {
    ...jsonResponse(
      "The path has no endpoint for the request's method; `allowed` lists the ones it has",
      "MethodNotAllowed"
    ),
    headers: {
      Allow: { description: "The methods the path has, comma-separated", schema: { type: "string" } }
    }
  },
  RequestTimeout: jsonResponse(
    "The request line and headers, or the whole request, did not arrive in time; the connection is closed",
    "RequestTimeout"
  ),
  HeadersTooLarge: jsonResponse(
    "The request line and headers exceed 16 KiB; the connection is closed",
    "HeadersTooLarge"
  )
}

// Refused before a body is read, and only for a `POST` (see `RequestGuard`); the platform lists a middleware's errors
// on every endpoint.
const postOnly = ["411", "415"]

/** The challenge a `401` carries (RFC 6750): the platform's security middleware cannot declare a header. */
const wwwAuthenticate = {
  "WWW-Authenticate": {
    description: "The scheme the service asks for: `Bearer realm=\"concord\"`",
    schema: { type: "string" }
  }
}

const eventStreamDescription = "A stream of Server-Sent Events (`text/event-stream`, UTF-8) that stays open: one " +
  "message per committed event, its `id` the event's position and its `data` the event's JSON (a `RecordedEvent`, " +
  "as `GET /events` returns it) on one line; comment lines (`:`) keep an idle connection open. It ends when the " +
  "service shuts down; reconnect with `Last-Event-ID` to go on."

const refineOperation = (method: string, operation: Node, schemas: Node, bearer: boolean): Node => {
  // The platform writes `security: []` on every operation, which would override the document's own.
  const { security: _security, ...rest } = operation
  const responses: Node = {}
  for (const [status, response] of Object.entries(isNode(rest.responses) ? rest.responses : {})) {
    if (!bearer && status === "401") continue
    if (method !== "post" && postOnly.includes(status)) continue
    const refined = refineResponse(response, schemas)
    responses[status] = status === "401" && isNode(refined) ? { ...refined, headers: wwwAuthenticate } : refined
  }
  const parameters = Array.isArray(rest.parameters) ? rest.parameters.map(refineParameter) : rest.parameters
  return { ...rest, parameters, responses }
}

const refineResponse = (response: unknown, schemas: Node): unknown => {
  if (!isNode(response) || !isNode(response.content)) return response
  // The platform describes a text success as "a string": the subscription's is an event stream.
  if (isNode(response.content["text/event-stream"])) {
    return {
      ...response,
      description: eventStreamDescription,
      content: { "text/event-stream": { schema: { type: "string", description: eventStreamDescription } } }
    }
  }
  const content = Object.fromEntries(
    Object.entries(response.content).map(([type, media]) =>
      isNode(media) && isNode(media.schema) ? [type, { ...media, schema: discriminate(media.schema, schemas) }] : [
        type,
        media
      ]
    )
  )
  return { ...response, content }
}

const refineParameter = (parameter: unknown): unknown =>
  isNode(parameter) && parameter.in === "path" && parameter.name === "streamId"
    ? { ...parameter, schema: ref("StreamId"), description: streamIdRules }
    : parameter

/**
 * The `HEAD` of a `GET` operation, which the router answers wherever it answers `GET` (and the `Allow` header of a
 * `405` lists): its parameters and statuses, each answer's headers without a body.
 */
const headOf = (get: Node): Node => {
  const responses = Object.fromEntries(
    Object.entries(isNode(get.responses) ? get.responses : {}).map(([status, response]) => {
      if (!isNode(response)) return [status, response]
      const { content: _content, ...headers } = response
      return [status, headers]
    })
  )
  return {
    ...(Array.isArray(get.tags) ? { tags: get.tags } : {}),
    operationId: `${String(get.operationId)}.head`,
    summary: `The status and headers of: ${String(get.summary ?? get.operationId)}`,
    description: "What `GET` on this path answers, its status and headers, without a body.",
    ...(get.parameters === undefined ? {} : { parameters: get.parameters }),
    responses
  }
}

/**
 * The document `OpenApi.fromApi` made, completed: one component per shared schema, formats and patterns, discriminated
 * error unions, the `HEAD` of every `GET`, the event stream described, the answers no endpoint declares, the
 * `WWW-Authenticate` of a `401`, and the bearer scheme applied to every operation when the service
 * requires a token, absent when it does not.
 *
 * @internal
 */
export const refine = (spec: OpenApi.OpenAPISpec, options: { readonly bearer: boolean }): OpenApi.OpenAPISpec => {
  const document = replaceUnknown(structuredClone(spec)) as Node & OpenApi.OpenAPISpec
  const components = document.components as unknown as Node
  const schemas = components.schemas as Node
  refineComponents(schemas)
  const paths: Node = {}
  for (const [path, item] of Object.entries(document.paths as Node)) {
    const operations: Node = Object.fromEntries(
      Object.entries(item as Node).map(([method, operation]) => [
        method,
        refineOperation(method, operation as Node, schemas, options.bearer)
      ])
    )
    if (isNode(operations.get) && operations.head === undefined) operations.head = headOf(operations.get)
    paths[path] = { ...operations, "x-other-methods": ref("MethodNotAllowed", "responses") }
  }
  components.responses = unroutedResponses
  const { security: _security, ...rest } = document
  const { securitySchemes, ...otherComponents } = components
  return {
    ...rest,
    paths,
    "x-unrouted": ref("NotFound", "responses"),
    components: options.bearer ? { ...otherComponents, securitySchemes } : otherComponents,
    ...(options.bearer ? { security: [{ bearer: [] }] } : {})
  } as unknown as OpenApi.OpenAPISpec
}

/**
 * The API with the document its service serves: the bearer scheme applied when `bearer`, absent otherwise. The
 * document is the API's annotation, so the OpenAPI route and the `/docs` page both show it.
 *
 * @internal
 */
export const served = <Api extends HttpApi.HttpApi.Any>(api: Api, options: { readonly bearer: boolean }): Api =>
  (api as unknown as HttpApi.HttpApi<string, never>).annotate(
    OpenApiTags.Transform,
    (spec) => refine(spec as OpenApi.OpenAPISpec, options)
  ) as unknown as Api
