import { describe, expect, layer } from "@effect/vitest"
import { Effect, FastCheck as fc, Redacted } from "effect"
import * as http from "node:http"
import { arbitrary, type JsonSchema } from "./support/jsonSchemaArbitrary.js"
import {
  baseUrl,
  type Compiled,
  compileDocument,
  fetchDocument,
  type Json,
  resolveResponse,
  serviceAt
} from "./support/openApi.js"

// Requests made from the served document's own schemas, valid ones and ones a mutation makes invalid (listed cases,
// and those the document's rules call for: numbers a double does not carry, nesting past its limit, NUL, unpaired
// surrogates), sent to a running service: every answer's status must be one the document lists for the operation
// (or, for a method or path no operation has, as its components.responses say), its body valid against the schema
// listed for that status; a valid request gets its success or a domain answer (409, 422), an invalid one a 400, a
// POST not declared as JSON a 415, and with a token a request without it a 401 with its challenge. The seed is fixed so that CI runs the same
// requests every time; CONCORD_CONTRACT_SEED runs others, and a failure names its seed.
const seed = Number(process.env.CONCORD_CONTRACT_SEED ?? 20_261_205)
const numRuns = Number(process.env.CONCORD_CONTRACT_RUNS ?? 150)

/**
 * A request as the document describes it: path and query values as text, a body as JSON. A mutation may give a path
 * value already percent-encoded (`rawPath`, for bytes `encodeURIComponent` cannot write) or the body's text itself
 * (`bodyText`, for JSON `JSON.stringify` cannot write).
 */
interface Request {
  readonly path: Readonly<Record<string, string>>
  readonly query: Readonly<Record<string, string>>
  readonly body?: unknown
  readonly rawPath?: Readonly<Record<string, string>>
  readonly bodyText?: string
}

interface Operation {
  readonly path: string
  readonly method: "get" | "post"
  readonly operation: Json
}

/** How a counterexample shows an operation: by its method and path, not its whole object. */
const shownAsName = (operation: Operation): Operation =>
  Object.assign(operation, { [fc.toStringMethod]: () => `${operation.method.toUpperCase()} ${operation.path}` })

/** The operations the contract covers: all but the subscription, whose answer does not end. */
const operationsOf = (document: Json): ReadonlyArray<Operation> =>
  Object.entries(document.paths as Json).flatMap(([path, item]) =>
    (["get", "post"] as const).filter((method) => item[method] !== undefined && path !== "/events/subscribe").map((
      method
    ) => shownAsName({ path, method, operation: item[method] }))
  )

/** A value as it travels in a path or a query: an integer in decimal, text as it is. */
const asText = (value: unknown) => typeof value === "string" ? value : String(value)

/** Valid requests of an operation, from its parameters' and body's schemas. */
const validRequest = (document: Json, { operation }: Operation): fc.Arbitrary<Request> => {
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
const shortEnough = (request: Request) =>
  JSON.stringify(request.path).length + JSON.stringify(request.query).length < 4_000

// A position's parts are at most 2^64 - 1, which the document's pattern does not say (its description does).
const withinPositions = (request: Request) =>
  request.query.after === undefined ||
  request.query.after.split(".").every((part) => BigInt(part) <= 2n ** 64n - 1n)

/** Ways to make a valid request invalid: each returns undefined where it does not apply. */
const mutations: ReadonlyArray<(request: Request, pick: number) => Request | undefined> = [
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
const documentMutations = (document: Json, { operation }: Operation) => {
  const body = operation.requestBody?.content["application/json"]?.schema
  const jsonValues = body !== undefined && refersTo(document, body, "JsonValue")
  const types = body !== undefined && refersTo(document, body, "EventType")
  const streamIds = (operation.parameters ?? []).some((p: Json) => p.in === "path" && refersTo(document, p, "StreamId"))
  const depth = Number(/at most (\d+) arrays and objects/.exec(document.components.schemas.JsonValue.description)?.[1])
  const inexact = ["9007199254740993", "-9007199254740993", "9223372036854775807", "1e400", "1e-400", "2e-324"]
  return [
    (request: Request, pick: number): Request | undefined =>
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
    (request: Request, pick: number): Request | undefined =>
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
    (request: Request, pick: number): Request | undefined => {
      if (!jsonValues) return undefined
      const nul = [{ "a\u0000": 1 }, { k: "a\u0000b" }, ["\u0000"], "\u0000"][pick % 4]
      const event = pick % 5 === 0 ? { type: "E", data: {}, metadata: { by: "a\u0000" } } : { type: "E", data: nul }
      return { ...request, body: { ...(request.body as Json), events: [event] } }
    },
    (request: Request, pick: number): Request | undefined =>
      types
        ? {
          ...request,
          body: { ...(request.body as Json), events: [{ type: ["a\ud800", "\udc00b"][pick % 2], data: 1 }] }
        }
        : undefined,
    (request: Request, pick: number): Request | undefined =>
      streamIds
        ? { ...request, rawPath: { streamId: ["a%ED%A0%80b", "%ED%B0%80", "%ED%A0%80%ED%B0%80"][pick % 3]! } }
        : undefined
  ]
}

const invalidRequest = (document: Json, operation: Operation): fc.Arbitrary<Request> => {
  const all = [...mutations, ...documentMutations(document, operation)]
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
    .filter((request): request is Request => request !== undefined)
}

interface Answer {
  readonly status: number
  readonly contentType: string | null
  readonly wwwAuthenticate: string | null
  readonly text: string
}

/** A request as it goes on the wire. */
interface Wire {
  readonly method: string
  /** The path and query, percent-encoded. */
  readonly target: string
  readonly headers: Readonly<Record<string, string | number>>
  readonly body?: Buffer
}

/** Sends a request on a connection of its own, so that no answer depends on how long the one before sat idle. */
const sendWire = (url: string, { body, headers, method, target }: Wire): Promise<Answer> =>
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
const wire = ({ method, path }: Operation, request: Request, headers: Record<string, string> = {}): Wire => {
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

const send = (url: string, operation: Operation, request: Request, headers?: Record<string, string>) =>
  sendWire(url, wire(operation, request, headers))

/**
 * Whether an answer is one of `responses` (by status), its body valid against that status's schema; the answer to a
 * `HEAD` has the headers of that status's answer and no body.
 */
const checkListed = (
  document: Json,
  compiled: Compiled,
  responses: Json,
  answer: Answer,
  where: string,
  head = false
) => {
  const listed = responses[String(answer.status)]
  if (listed === undefined) throw new Error(`${where}: a status the document does not list`)
  const response = resolveResponse(document, listed)
  const schema = response.content?.["application/json"]?.schema
  if (schema === undefined) return response
  expect(answer.contentType, where).toMatch(/^application\/json/)
  if (head) return response
  const validate = compiled.compile(schema)
  if (!validate(JSON.parse(answer.text))) {
    throw new Error(`${where}: the body does not match the documented schema: ${JSON.stringify(validate.errors)}`)
  }
  return response
}

/** Whether an answer is one the document lists for the operation, its body valid against that status's schema. */
const checkAnswer = (document: Json, compiled: Compiled, { method, operation, path }: Operation, answer: Answer) => {
  const where = `${method.toUpperCase()} ${path} answered ${answer.status} ${answer.text.slice(0, 400)}`
  const response = checkListed(document, compiled, operation.responses, answer, where)
  // A documented header is sent: the 401's challenge.
  if (response.headers?.["WWW-Authenticate"] !== undefined) expect(answer.wwwAuthenticate, where).toMatch(/^Bearer /)
}

/** The statuses a valid request may get: its success and the domain's answers (a conflict, a duplicate id). */
const validStatuses = [200, 409, 422]

/** Runs a property with the fixed seed, naming the seed when it fails. */
const assertWithSeed = <T>(property: fc.IAsyncProperty<[T]>) =>
  Effect.promise(() =>
    fc.assert(property, { seed, numRuns }).catch((error: unknown) => {
      throw new Error(`contract failed with seed ${seed} (CONCORD_CONTRACT_SEED=${seed}): ${String(error)}`)
    })
  )

describe("the service keeps the contract its OpenAPI document states", () => {
  layer(serviceAt())("over the in-memory store", (it) => {
    it.effect("answers valid requests with their success or a documented domain answer (409, 422), nothing else", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const document = yield* fetchDocument(url)
        const compiled = compileDocument(document)
        const requests = fc.constantFrom(...operationsOf(document)).chain((operation) =>
          fc.tuple(
            fc.constant(operation),
            validRequest(document, operation).filter((request) => withinPositions(request) && shortEnough(request))
          )
        )
        const succeeded = new Set<string>()
        yield* assertWithSeed(fc.asyncProperty(requests, async ([operation, request]) => {
          const answer = await send(url, operation, request)
          checkAnswer(document, compiled, operation, answer)
          expect(validStatuses, `${JSON.stringify(request).slice(0, 500)} got ${answer.text.slice(0, 500)}`).toContain(
            answer.status
          )
          if (answer.status === 200) succeeded.add(`${operation.method} ${operation.path}`)
        }))
        // The requests reached every operation's work, not only its refusals.
        expect([...succeeded].sort()).toEqual(
          operationsOf(document).map(({ method, path }) => `${method} ${path}`).sort()
        )
      }))

    it.effect("answers invalid requests with a documented 400 and its body, writing nothing", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const document = yield* fetchDocument(url)
        const compiled = compileDocument(document)
        const requests = fc.constantFrom(...operationsOf(document)).filter(({ operation }) =>
          (operation.parameters ?? []).length > 0 || operation.requestBody !== undefined
        ).chain((operation) => fc.tuple(fc.constant(operation), invalidRequest(document, operation)))
        const before = await_(fetch(`${url}/events?limit=10000`).then((response) => response.json()))
        const logBefore = yield* before
        // The mutations the document's rules call for are among those sent.
        const kinds = new Set<string>()
        yield* assertWithSeed(fc.asyncProperty(requests, async ([operation, request]) => {
          const answer = await send(url, operation, request)
          checkAnswer(document, compiled, operation, answer)
          const shown = `${JSON.stringify(request).slice(0, 500)} got ${answer.text.slice(0, 500)}`
          expect(answer.status, shown).toBe(400)
          if (request.rawPath !== undefined) kinds.add("surrogate in a path")
          if (request.bodyText?.includes("[[[[") || request.bodyText?.includes(`{"a":{"a":`)) kinds.add("deep")
          else if (request.bodyText !== undefined) kinds.add("inexact number")
        }))
        expect([...kinds].sort()).toEqual(["deep", "inexact number", "surrogate in a path"])
        const logAfter = yield* await_(fetch(`${url}/events?limit=10000`).then((response) => response.json()))
        expect(logAfter).toEqual(logBefore)
      }))
  })
})

const await_ = <A>(promise: Promise<A>) => Effect.promise(() => promise)

/** The document's path templates as patterns over a request's path: `{name}` is one segment. */
const pathPatterns = (document: Json) =>
  Object.keys(document.paths).map((template) => ({
    template,
    pattern: new RegExp(`^${template.replace(/\{\w+\}/g, "[^/]+")}$`)
  }))

/**
 * Where the document says the answer of a method on a path is: the operation's responses when the path has the
 * method, `components.responses.MethodNotAllowed` (the path's `x-other-methods`) when it has the path but not the
 * method, `NotFound` (the document's `x-unrouted`) when it has neither.
 */
const documentedFor = (document: Json, method: string, target: string) => {
  const pathname = target.split("?", 1)[0]!
  const known = pathPatterns(document).find(({ pattern }) => pattern.test(pathname))
  if (known === undefined) return { status: 404, responses: { "404": document["x-unrouted"] } }
  const item = document.paths[known.template]
  const operation = item[method.toLowerCase()]
  if (operation !== undefined) return { status: undefined, responses: operation.responses as Json }
  return { status: 405, responses: { "405": item["x-other-methods"] } }
}

describe("the service answers what no operation declares as the document's components say", () => {
  layer(serviceAt())("over the in-memory store", (it) => {
    it.effect("other methods on its paths get the 405 and unknown paths the 404, with their documented bodies", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const document = yield* fetchDocument(url)
        const compiled = compileDocument(document)
        const operations = operationsOf(document)
        const unknownPaths = ["/nope", "/streams", "/health/x", "/events/subscribe/x", "/streams/a/events/x"]
        const requests = fc.tuple(
          fc.oneof(
            fc.constantFrom(...operations).chain((operation) =>
              validRequest(document, operation).filter((request) => withinPositions(request) && shortEnough(request))
                .map((request) => wire(operation, request).target)
            ),
            fc.constantFrom(...unknownPaths)
          ),
          fc.constantFrom("PUT", "DELETE", "PATCH", "HEAD", "POST", "GET", "OPTIONS")
        ).filter(([target, method]) =>
          // The documented operations are the other tests'; the subscription's GET does not end.
          documentedFor(document, method, target).status !== undefined || method === "HEAD"
        )
        const seen = new Set<number>()
        yield* assertWithSeed(fc.asyncProperty(requests, async ([target, method]) => {
          const body = method === "POST" ? Buffer.from(`{"expectedVersion":"any","events":[]}`) : undefined
          const answer = await sendWire(url, {
            method,
            target,
            headers: body === undefined ? {} : { "content-type": "application/json", "content-length": body.length },
            ...(body === undefined ? {} : { body })
          })
          const expected = documentedFor(document, method, target)
          const where = `${method} ${target} answered ${answer.status} ${answer.text.slice(0, 400)}`
          if (expected.status !== undefined) expect(answer.status, where).toBe(expected.status)
          checkListed(document, compiled, expected.responses, answer, where, method === "HEAD")
          if (method === "HEAD") expect(answer.text, where).toBe("")
          seen.add(answer.status)
        }))
        expect([...seen].sort()).toEqual(expect.arrayContaining([404, 405]))
      }))

    it.effect("a POST without a JSON content type gets the documented 415, writing nothing", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const document = yield* fetchDocument(url)
        const compiled = compileDocument(document)
        const posts = operationsOf(document).filter(({ method }) => method === "post")
        expect(posts.length).toBeGreaterThan(0)
        const requests = fc.tuple(
          fc.constantFrom(...posts).chain((operation) =>
            fc.tuple(fc.constant(operation), validRequest(document, operation).filter(shortEnough))
          ),
          fc.constantFrom(undefined, "text/plain", "application/xml", "application/x-www-form-urlencoded", "json")
        )
        const logBefore = yield* await_(fetch(`${url}/events?limit=10000`).then((response) => response.json()))
        yield* assertWithSeed(fc.asyncProperty(requests, async ([[operation, request], contentType]) => {
          const sent = wire(operation, request)
          const { "content-type": _json, ...headers } = sent.headers
          const answer = await sendWire(url, {
            ...sent,
            headers: contentType === undefined ? headers : { ...headers, "content-type": contentType }
          })
          checkAnswer(document, compiled, operation, answer)
          expect(answer.status, `${contentType} got ${answer.text.slice(0, 300)}`).toBe(415)
        }))
        const logAfter = yield* await_(fetch(`${url}/events?limit=10000`).then((response) => response.json()))
        expect(logAfter).toEqual(logBefore)
      }))
  })
})

const token = "contract-token-0123456789"

describe("a service run with a token keeps the contract its token document states", () => {
  layer(serviceAt({ token: Redacted.make(token) }))("over the in-memory store", (it) => {
    it.effect("refuses requests without the token or with another with the documented 401; takes the token's", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const document = yield* fetchDocument(url, token)
        expect(document.security).toEqual([{ bearer: [] }])
        const compiled = compileDocument(document)
        const requests = fc.constantFrom(...operationsOf(document)).chain((operation) =>
          fc.tuple(
            fc.constant(operation),
            validRequest(document, operation).filter((request) => withinPositions(request) && shortEnough(request)),
            fc.constantFrom(
              undefined,
              "Bearer wrong-token-0123456789",
              `Bearer ${token}x`,
              `Basic ${token}`,
              "Bearer",
              `Bearer ${token}`
            )
          )
        )
        const statuses = new Set<number>()
        yield* assertWithSeed(fc.asyncProperty(requests, async ([operation, request, authorization]) => {
          const answer = await send(url, operation, request, authorization === undefined ? {} : { authorization })
          checkAnswer(document, compiled, operation, answer)
          const where = `${authorization} got ${answer.status} ${answer.text.slice(0, 300)}`
          if (authorization === `Bearer ${token}`) expect(validStatuses, where).toContain(answer.status)
          else expect(answer.status, where).toBe(401)
          statuses.add(answer.status)
        }))
        expect(statuses).toContain(401)
        expect(statuses).toContain(200)
      }))
  })
})
