import { describe, expect, layer } from "@effect/vitest"
import { Effect, FastCheck as fc } from "effect"
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

// Requests made from the served document's own schemas, valid ones and ones a mutation makes invalid, sent to a
// running service: every answer's status must be one the document lists for the operation, its body valid against
// the schema listed for that status, and a valid request never a 400. The seed is fixed so that CI runs the same
// requests every time; CONCORD_CONTRACT_SEED runs others, and a failure names its seed.
const seed = Number(process.env.CONCORD_CONTRACT_SEED ?? 20_261_205)
const numRuns = Number(process.env.CONCORD_CONTRACT_RUNS ?? 150)

/** A request as the document describes it: path and query values as text, a body as JSON. */
interface Request {
  readonly path: Readonly<Record<string, string>>
  readonly query: Readonly<Record<string, string>>
  readonly body?: unknown
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

const invalidRequest = (document: Json, operation: Operation): fc.Arbitrary<Request> =>
  fc.tuple(
    validRequest(document, operation).filter(shortEnough),
    fc.nat({ max: 1_000 }),
    fc.nat({ max: mutations.length - 1 })
  )
    .map(([request, pick, first]) => {
      for (let i = 0; i < mutations.length; i++) {
        const mutated = mutations[(first + i) % mutations.length]!(request, pick)
        if (mutated !== undefined) return mutated
      }
      return undefined
    })
    .filter((request): request is Request => request !== undefined)

interface Answer {
  readonly status: number
  readonly contentType: string | null
  readonly text: string
}

/** Sends a request on a connection of its own, so that no answer depends on how long the one before sat idle. */
const send = (url: string, { method, path }: Operation, request: Request): Promise<Answer> => {
  const target = path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(request.path[name]!))
  const query = Object.entries(request.query).map(([name, value]) =>
    `${encodeURIComponent(name)}=${encodeURIComponent(value)}`
  ).join("&")
  const body = method === "post" ? Buffer.from(JSON.stringify(request.body)) : undefined
  return new Promise<Answer>((resolve, reject) => {
    const sent = http.request(`${url}${target}${query === "" ? "" : `?${query}`}`, {
      method: method.toUpperCase(),
      agent: false,
      headers: body === undefined ? {} : { "content-type": "application/json", "content-length": body.length }
    }, (response) => {
      const chunks: Array<Buffer> = []
      response.on("data", (chunk: Buffer) => chunks.push(chunk))
      response.on("end", () =>
        resolve({
          status: response.statusCode!,
          contentType: response.headers["content-type"] ?? null,
          text: Buffer.concat(chunks).toString("utf8")
        }))
      response.on("error", reject)
    })
    sent.on("error", (error) => reject(new Error(`no answer: ${String(error)}`)))
    sent.end(body)
  })
}

/** Whether an answer is one the document lists for the operation, its body valid against that status's schema. */
const checkAnswer = (document: Json, compiled: Compiled, { method, operation, path }: Operation, answer: Answer) => {
  const where = `${method.toUpperCase()} ${path} answered ${answer.status} ${answer.text.slice(0, 400)}`
  const listed = operation.responses[String(answer.status)]
  if (listed === undefined) throw new Error(`${where}: a status the document does not list`)
  const schema = resolveResponse(document, listed).content?.["application/json"]?.schema
  if (schema === undefined) return
  expect(answer.contentType, where).toMatch(/^application\/json/)
  const validate = compiled.compile(schema)
  if (!validate(JSON.parse(answer.text))) {
    throw new Error(`${where}: the body does not match the documented schema: ${JSON.stringify(validate.errors)}`)
  }
}

/** Runs a property with the fixed seed, naming the seed when it fails. */
const assertWithSeed = (property: fc.IAsyncProperty<[readonly [Operation, Request]]>) =>
  Effect.promise(() =>
    fc.assert(property, { seed, numRuns }).catch((error: unknown) => {
      throw new Error(`contract failed with seed ${seed} (CONCORD_CONTRACT_SEED=${seed}): ${String(error)}`)
    })
  )

describe("the service keeps the contract its OpenAPI document states", () => {
  layer(serviceAt())("over the in-memory store", (it) => {
    it.effect("answers valid requests with documented statuses and bodies, never a 400", () =>
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
          expect(answer.status, `${JSON.stringify(request).slice(0, 500)} got ${answer.text.slice(0, 500)}`).not.toBe(
            400
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
        yield* assertWithSeed(fc.asyncProperty(requests, async ([operation, request]) => {
          const answer = await send(url, operation, request)
          checkAnswer(document, compiled, operation, answer)
          expect(answer.status, `${JSON.stringify(request).slice(0, 500)} got ${answer.text.slice(0, 500)}`).toBe(400)
        }))
        const logAfter = yield* await_(fetch(`${url}/events?limit=10000`).then((response) => response.json()))
        expect(logAfter).toEqual(logBefore)
      }))
  })
})

const await_ = <A>(promise: Promise<A>) => Effect.promise(() => promise)
