// Requests for the contract tests, made from the served OpenAPI document's own schemas: valid ones, ones a mutation
// makes invalid (listed cases, and those the document's rules call for), and how a client following the document puts
// them on the wire. The properties and what they assert stay in Contract.test.ts; this is what they send.
import { FastCheck as fc } from "effect"
import * as http from "node:http"
import { arbitrary, type JsonSchema } from "./jsonSchemaArbitrary.js"
import type { Json } from "./openApi.js"

/**
 * A request as the document describes it: path and query values as text, a body as JSON. A mutation may give a path
 * value already percent-encoded (`rawPath`, for bytes `encodeURIComponent` cannot write) or the body's text itself
 * (`bodyText`, for JSON `JSON.stringify` cannot write).
 */
export interface ContractRequest {
  readonly path: Readonly<Record<string, string>>
  readonly query: Readonly<Record<string, string>>
  readonly body?: unknown
  readonly rawPath?: Readonly<Record<string, string>>
  readonly bodyText?: string
}

/** An operation of the document: its path template, its method and its object. */
export interface Operation {
  readonly path: string
  readonly method: "get" | "post"
  readonly operation: Json
}

/** How a counterexample shows an operation: by its method and path, not its whole object. */
const shownAsName = (operation: Operation): Operation =>
  Object.assign(operation, { [fc.toStringMethod]: () => `${operation.method.toUpperCase()} ${operation.path}` })

/** The operations the contract covers: all but the subscription, whose answer does not end. */
export const operationsOf = (document: Json): ReadonlyArray<Operation> =>
  Object.entries(document.paths as Json).flatMap(([path, item]) =>
    (["get", "post"] as const).filter((method) => item[method] !== undefined && path !== "/events/subscribe").map((
      method
    ) => shownAsName({ path, method, operation: item[method] }))
  )

/** A value as it travels in a path or a query: an integer in decimal, text as it is. */
const asText = (value: unknown) => typeof value === "string" ? value : String(value)

/** Valid requests of an operation, from its parameters' and body's schemas. */
export const validRequest = (document: Json, { operation }: Operation): fc.Arbitrary<ContractRequest> => {
  const parameters: ReadonlyArray<Json> = operation.parameters ?? []
  const of = (where: string) =>
    fc.record(
      Object.fromEntries(
        parameters.filter((p) => p.in === where).map((p) => [
          p.name,
          arbitrary(p.schema, { document }).map(asText)
        ])
      ),
      { requiredKeys: parameters.filter((p) => p.in === where && p.required).map((p) => p.name) }
    ) as fc.Arbitrary<Record<string, string>>
  const body = operation.requestBody?.content["application/json"]?.schema as JsonSchema | undefined
  return fc.record({
    path: of("path"),
    query: of("query"),
    ...(body === undefined ? {} : { body: arbitrary(body, { document }) })
  })
}

// Node answers a request line over 16 KiB with 431 (the document notes it): the requests stay well below.
export const shortEnough = (request: ContractRequest) =>
  JSON.stringify(request.path).length + JSON.stringify(request.query).length < 4_000

// A position's parts are at most 2^64 - 1, which the document's pattern does not say (its description does).
export const withinPositions = (request: ContractRequest) =>
  request.query.after === undefined ||
  request.query.after.split(".").every((part) => BigInt(part) <= 2n ** 64n - 1n)

/** Makes a valid request invalid, choosing among its variants by `pick`; undefined where it does not apply. */
type Mutation = (request: ContractRequest, pick: number) => ContractRequest | undefined

/** The listed cases: unknown and missing fields, values out of their types or bounds, stream ids no stream has. */
const listedMutations: ReadonlyArray<Mutation> = [
  // An unknown field, at the top or in an event.
  (request, pick) => {
    const body = request.body as Json | undefined
    if (body === undefined) return undefined
    if (pick % 2 === 0 || body.events.length === 0) return { ...request, body: { ...body, metaData: { by: "joe" } } }
    const events = body.events.map((event: Json, i: number) => i === 0 ? { ...event, metaData: {} } : event)
    return { ...request, body: { ...body, events } }
  },
  // A missing required field.
  (request, pick) => {
    const body = request.body as Json | undefined
    if (body === undefined) return undefined
    if (pick % 2 === 0 || body.events.length === 0) {
      const { [pick % 4 === 0 ? "events" : "expectedVersion"]: _dropped, ...rest } = body
      return { ...request, body: rest }
    }
    const events = body.events.map((event: Json, i: number) => {
      if (i !== 0) return event
      const { [pick % 3 === 0 ? "data" : "type"]: _dropped, ...rest } = event
      return rest
    })
    return { ...request, body: { ...body, events } }
  },
  // A value of the wrong type or out of its bounds in the body.
  (request, pick) => {
    const body = request.body as Json | undefined
    if (body === undefined) return undefined
    const wrong = [
      { expectedVersion: -1 },
      { expectedVersion: 1.5 },
      { expectedVersion: 2_147_483_648 },
      { expectedVersion: "sometimes" },
      { events: {} },
      { events: Array.from({ length: 1001 }, () => ({ type: "E", data: null })) },
      { events: [{ type: 5, data: {} }] },
      { events: [{ type: "", data: {} }] },
      { events: [{ type: "x".repeat(257), data: {} }] },
      { events: [{ type: "a\u0000b", data: {} }] },
      { events: [{ id: "", type: "E", data: {} }] },
      { events: [{ id: "😀".repeat(129), type: "E", data: {} }] },
      { events: [{ type: "E", data: {}, metadata: [] }] },
      { events: [{ type: "E", data: {}, metadata: "by joe" }] }
    ]
    return { ...request, body: { ...body, ...wrong[pick % wrong.length] } }
  },
  // A query value out of its bounds or spelled otherwise than the document's type.
  (request, pick) => {
    const bad: Record<string, ReadonlyArray<string>> = {
      from: ["0", "2147483648", "1e3", "0x10", " 5", "+5", "05", "5.0", ""],
      limit: ["-1", "10001", "1e1", "05", "ten"],
      after: ["x", "01", "0.5", "-1", "18446744073709551616"],
      types: ["a,,b", ",", "a\u0000"],
      categories: ["a-b", "a,,b", ","]
    }
    const names = Object.keys(bad).filter((name) => request.query[name] !== undefined)
    if (names.length === 0) return undefined
    const name = names[pick % names.length]!
    const values = bad[name]!
    return { ...request, query: { ...request.query, [name]: values[pick % values.length]! } }
  },
  // A stream id no stream can have.
  (request, pick) => {
    if (request.path.streamId === undefined) return undefined
    const ids = ["x".repeat(513), "😀".repeat(513), "a\u0000b"]
    return { ...request, path: { ...request.path, streamId: ids[pick % ids.length]! } }
  }
]

/** Whether a schema of the document refers to a component, directly or through others. */
const refersTo = (document: Json, schema: unknown, component: string, seen = new Set<string>()): boolean => {
  if (Array.isArray(schema)) return schema.some((item) => refersTo(document, item, component, seen))
  if (typeof schema !== "object" || schema === null) return false
  const ref = (schema as Json).$ref
  if (typeof ref === "string" && ref.startsWith("#/components/schemas/")) {
    const name = ref.slice("#/components/schemas/".length)
    if (name === component) return true
    if (seen.has(name)) return false
    seen.add(name)
    return refersTo(document, document.components.schemas[name], component, seen)
  }
  return Object.values(schema).some((value) => refersTo(document, value, component, seen))
}

/** A body's first event given `data` written as raw JSON text, the rest of the body as it was. */
const withRawData = (body: Json, data: string, where: "data" | "metadata"): string => {
  const marker = "\"__raw_json_value__\""
  const event = where === "data" ? { type: "E", data: JSON.parse(marker) } : { type: "E", data: {}, metadata: { n: 0 } }
  const text = JSON.stringify({ ...body, events: [event] })
  return where === "data" ? text.replace(marker, data) : text.replace(`"metadata":{"n":0}`, `"metadata":{"n":${data}}`)
}

/**
 * Mutations the document's own rules call for, applied where an operation's schemas use the rule's component: values
 * a `JsonValue` (event data and metadata) cannot hold (numbers a double does not carry exactly, nesting deeper than
 * the document's limit, NUL in keys and strings), and text a `StreamId` or `EventType` cannot be (an unpaired
 * surrogate, in a path as the raw percent-encoded UTF-8 of a surrogate).
 */
const documentMutations = (document: Json, { operation }: Operation): ReadonlyArray<Mutation> => {
  const body = operation.requestBody?.content["application/json"]?.schema
  const jsonValues = body !== undefined && refersTo(document, body, "JsonValue")
  const types = body !== undefined && refersTo(document, body, "EventType")
  const streamIds = (operation.parameters ?? []).some((p: Json) => p.in === "path" && refersTo(document, p, "StreamId"))
  const depth = Number(/at most (\d+) arrays and objects/.exec(document.components.schemas.JsonValue.description)?.[1])
  const inexact = ["9007199254740993", "-9007199254740993", "9223372036854775807", "1e400", "1e-400", "2e-324"]
  return [
    (request, pick) =>
      jsonValues
        ? {
          ...request,
          bodyText: withRawData(
            request.body as Json,
            inexact[pick % inexact.length]!,
            pick % 3 === 0 ? "metadata" : "data"
          )
        }
        : undefined,
    (request, pick) =>
      jsonValues && depth > 0
        ? {
          ...request,
          bodyText: withRawData(
            request.body as Json,
            pick % 2 === 0 ? "[".repeat(depth + 1) + "]".repeat(depth + 1) : `{"a":`.repeat(depth + 1) + "1" +
              "}".repeat(depth + 1),
            "data"
          )
        }
        : undefined,
    (request, pick) => {
      if (!jsonValues) return undefined
      const nul = [{ "a\u0000": 1 }, { k: "a\u0000b" }, ["\u0000"], "\u0000"][pick % 4]
      const event = pick % 5 === 0 ? { type: "E", data: {}, metadata: { by: "a\u0000" } } : { type: "E", data: nul }
      return { ...request, body: { ...(request.body as Json), events: [event] } }
    },
    (request, pick) =>
      types
        ? {
          ...request,
          body: { ...(request.body as Json), events: [{ type: ["a\ud800", "\udc00b"][pick % 2], data: 1 }] }
        }
        : undefined,
    (request, pick) =>
      streamIds
        ? { ...request, rawPath: { streamId: ["a%ED%A0%80b", "%ED%B0%80", "%ED%A0%80%ED%B0%80"][pick % 3]! } }
        : undefined
  ]
}

/**
 * Invalid requests of an operation: a valid one, changed by the first mutation that applies to it, the mutations tried
 * in turn from one chosen at random.
 */
export const invalidRequest = (document: Json, operation: Operation): fc.Arbitrary<ContractRequest> => {
  const all = [...listedMutations, ...documentMutations(document, operation)]
  return fc.tuple(
    validRequest(document, operation).filter(shortEnough),
    fc.nat({ max: 1_000 }),
    fc.nat({ max: all.length - 1 })
  )
    .map(([request, pick, first]) => {
      for (let i = 0; i < all.length; i++) {
        const mutated = all[(first + i) % all.length]!(request, pick)
        if (mutated !== undefined) return mutated
      }
      return undefined
    })
    .filter((request): request is ContractRequest => request !== undefined)
}

/** An answer as a test reads it: its status, the headers the contract speaks of, its body as text. */
export interface Answer {
  readonly status: number
  readonly contentType: string | null
  readonly wwwAuthenticate: string | null
  readonly text: string
}

/** A request as it goes on the wire. */
export interface Wire {
  readonly method: string
  /** The path and query, percent-encoded. */
  readonly target: string
  readonly headers: Readonly<Record<string, string | number>>
  readonly body?: Buffer
}

/** Sends a request on a connection of its own, so that no answer depends on how long the one before sat idle. */
export const sendWire = (url: string, { body, headers, method, target }: Wire): Promise<Answer> =>
  new Promise<Answer>((resolve, reject) => {
    const sent = http.request(`${url}${target}`, { method, agent: false, headers }, (response) => {
      const chunks: Array<Buffer> = []
      response.on("data", (chunk: Buffer) => chunks.push(chunk))
      response.on("end", () =>
        resolve({
          status: response.statusCode!,
          contentType: response.headers["content-type"] ?? null,
          wwwAuthenticate: (response.headers["www-authenticate"] as string | undefined) ?? null,
          text: Buffer.concat(chunks).toString("utf8")
        }))
      response.on("error", reject)
    })
    sent.on("error", (error) => reject(new Error(`no answer: ${String(error)}`)))
    sent.end(body)
  })

/** An operation's request on the wire, as a client following the document sends it. */
export const toWire = (
  { method, path }: Operation,
  request: ContractRequest,
  headers: Record<string, string> = {}
): Wire => {
  const target = path.replace(
    /\{(\w+)\}/g,
    (_, name: string) => request.rawPath?.[name] ?? encodeURIComponent(request.path[name]!)
  )
  const query = Object.entries(request.query).map(([name, value]) =>
    `${encodeURIComponent(name)}=${encodeURIComponent(value)}`
  ).join("&")
  const body = method === "post" ? Buffer.from(request.bodyText ?? JSON.stringify(request.body)) : undefined
  return {
    method: method.toUpperCase(),
    target: `${target}${query === "" ? "" : `?${query}`}`,
    headers: body === undefined
      ? headers
      : { "content-type": "application/json", ...headers, "content-length": body.length },
    ...(body === undefined ? {} : { body })
  }
}

/** Sends an operation's request as a client following the document does. */
export const sendRequest = (
  url: string,
  operation: Operation,
  request: ContractRequest,
  headers?: Record<string, string>
) => sendWire(url, toWire(operation, request, headers))
