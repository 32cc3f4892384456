import { describe, expect, layer } from "@effect/vitest"
import { Effect, FastCheck as fc, Redacted } from "effect"
import {
  type Answer,
  invalidRequest,
  type Operation,
  operationsOf,
  sendRequest,
  sendWire,
  shortEnough,
  toWire,
  validRequest,
  withinPositions
} from "./support/contractRequests.js"
import {
  type Compiled,
  compileDocument,
  crmRegistries,
  fetchDocument,
  type Json,
  resolveResponse
} from "./support/openApi.js"
import { baseUrl, serviceAt } from "./support/service.js"

// Requests made from the served document's own schemas, valid ones and ones a mutation makes invalid (listed cases,
// and those the document's rules call for: numbers a double does not carry, nesting past its limit, NUL, unpaired
// surrogates), sent to a running service: every answer's status must be one the document lists for the operation
// (or, for a method or path no operation has, as its components.responses say), its body valid against the schema
// listed for that status; a valid request gets its success or a domain answer (409, 422), an invalid one a 400, a
// POST not declared as JSON a 415, and with a token a request without it a 401 with its challenge. How the requests
// are made and sent is in support/contractRequests.ts. The seed is fixed so that CI runs the same requests every time;
// CONCORD_CONTRACT_SEED runs others, and a failure names its seed.
const seed = Number(process.env.CONCORD_CONTRACT_SEED ?? 20_261_205)
const numRuns = Number(process.env.CONCORD_CONTRACT_RUNS ?? 150)

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

/** The whole event log, read to show that refused requests wrote nothing (10000 is the largest page a read gives). */
const wholeLog = (url: string) =>
  Effect.promise(() => fetch(`${url}/events?limit=10000`).then((response): Promise<unknown> => response.json()))

/** Runs a property with the fixed seed, naming the seed when it fails. */
const assertWithSeed = <T>(property: fc.IAsyncProperty<[T]>) =>
  Effect.promise(() =>
    fc.assert(property, { seed, numRuns }).catch((error: unknown) => {
      throw new Error(`contract failed with seed ${seed} (CONCORD_CONTRACT_SEED=${seed}): ${String(error)}`)
    })
  )

describe("the service keeps the contract its OpenAPI document states", () => {
  layer(serviceAt({ registries: crmRegistries }))("over the in-memory store", (it) => {
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
          const answer = await sendRequest(url, operation, request)
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
        const logBefore = yield* wholeLog(url)
        // The mutations the document's rules call for are among those sent.
        const kinds = new Set<string>()
        yield* assertWithSeed(fc.asyncProperty(requests, async ([operation, request]) => {
          const answer = await sendRequest(url, operation, request)
          checkAnswer(document, compiled, operation, answer)
          const shown = `${JSON.stringify(request).slice(0, 500)} got ${answer.text.slice(0, 500)}`
          expect(answer.status, shown).toBe(400)
          if (request.rawPath !== undefined) kinds.add("surrogate in a path")
          if (request.bodyText?.includes("[[[[") || request.bodyText?.includes(`{"a":{"a":`)) kinds.add("deep")
          else if (request.bodyText !== undefined) kinds.add("inexact number")
        }))
        expect([...kinds].sort()).toEqual(["deep", "inexact number", "surrogate in a path"])
        const logAfter = yield* wholeLog(url)
        expect(logAfter).toEqual(logBefore)
      }))
  })
})

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
  layer(serviceAt({ registries: crmRegistries }))("over the in-memory store", (it) => {
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
                .map((request) => toWire(operation, request).target)
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
        const logBefore = yield* wholeLog(url)
        yield* assertWithSeed(fc.asyncProperty(requests, async ([[operation, request], contentType]) => {
          const sent = toWire(operation, request)
          const { "content-type": _json, ...headers } = sent.headers
          const answer = await sendWire(url, {
            ...sent,
            headers: contentType === undefined ? headers : { ...headers, "content-type": contentType }
          })
          checkAnswer(document, compiled, operation, answer)
          expect(answer.status, `${contentType} got ${answer.text.slice(0, 300)}`).toBe(415)
        }))
        const logAfter = yield* wholeLog(url)
        expect(logAfter).toEqual(logBefore)
      }))
  })
})

const token = "contract-token-0123456789"

describe("a service run with a token keeps the contract its token document states", () => {
  layer(serviceAt({ registries: crmRegistries, token: Redacted.make(token) }))("over the in-memory store", (it) => {
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
          const answer = await sendRequest(
            url,
            operation,
            request,
            authorization === undefined ? {} : { authorization }
          )
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
