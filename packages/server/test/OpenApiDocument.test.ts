import SwaggerParser from "@apidevtools/swagger-parser"
import { describe, expect, layer } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import * as fs from "node:fs"
import * as openApi from "../src/internal/openApi.js"
import {
  compileDocument,
  componentRef,
  crmRegistries,
  fetchDocument,
  type Json,
  operationsOf,
  resolveResponse
} from "./support/openApi.js"
import { baseUrl, serviceAt } from "./support/service.js"

const token = "openapi-token-0123456789"
const packageVersion = (JSON.parse(
  fs.readFileSync(new URL("../package.json", import.meta.url), "utf8")
) as { readonly version: string }).version

/** Every value a key has anywhere in the document. */
const valuesOf = (node: unknown, key: string): Array<unknown> => {
  if (Array.isArray(node)) return node.flatMap((item) => valuesOf(item, key))
  if (typeof node !== "object" || node === null) return []
  return Object.entries(node).flatMap(([k, value]) => [...(k === key ? [value] : []), ...valuesOf(value, key)])
}

/** What every document must be, with or without a token. */
const checkStrict = (document: Json) =>
  Effect.gen(function*() {
    yield* Effect.promise(() => SwaggerParser.validate(structuredClone(document) as never))
    const ids = valuesOf(document, "$id")
    expect(new Set(ids).size).toBe(ids.length)
    expect(ids).not.toContain("/schemas/unknown")
    const { compile } = compileDocument(document)
    for (const name of Object.keys(document.components.schemas)) compile(componentRef(name))
    for (const { operation } of operationsOf(document)) {
      expect(operation.security).toBeUndefined()
      for (const parameter of operation.parameters ?? []) compile(parameter.schema)
      for (const media of Object.values(operation.requestBody?.content ?? {}) as Array<Json>) compile(media.schema)
      for (const response of Object.values(operation.responses) as Array<Json>) {
        for (const media of Object.values(response.content ?? {}) as Array<Json>) compile(media.schema)
      }
    }
    for (const response of Object.values(document.components.responses) as Array<Json>) {
      for (const media of Object.values(response.content ?? {}) as Array<Json>) compile(media.schema)
    }
  })

/** The document the `/docs` page shows, as it embeds it. */
const docsPage = (url: string, bearer?: string) =>
  Effect.promise(async () => {
    const response = await fetch(`${url}/docs`, {
      headers: bearer === undefined ? {} : { authorization: `Bearer ${bearer}` }
    })
    const page = await response.text()
    const embedded = /<script id="swagger-spec" type="application\/json">([^<]*)<\/script>/.exec(page)
    if (embedded === null) throw new Error("the /docs page embeds no document")
    return JSON.parse(embedded[1]!) as Json
  })

const statusesOf = (document: Json, path: string, method: string) =>
  Object.keys(document.paths[path][method].responses).sort()

describe("the OpenAPI document", () => {
  layer(serviceAt({ registries: crmRegistries, token: Redacted.make(token) }))("of a service with a token", (it) => {
    it.effect("is valid for swagger-parser and compiles in ajv's strict mode, one id per schema", () =>
      Effect.gen(function*() {
        yield* checkStrict(yield* fetchDocument(yield* baseUrl, token))
      }))

    it.effect("applies the bearer scheme to every operation, each of which lists the 401", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const document = yield* fetchDocument(url, token)
        expect(document.components.securitySchemes).toEqual({ bearer: { type: "http", scheme: "bearer" } })
        expect(document.security).toEqual([{ bearer: [] }])
        for (const { operation } of operationsOf(document)) expect(operation.responses["401"]).toBeDefined()
        const page = yield* docsPage(url, token)
        expect(page.security).toEqual([{ bearer: [] }])
      }))

    it.effect("declares the 401's WWW-Authenticate challenge, which every refusal carries", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const document = yield* fetchDocument(url, token)
        for (const { method, operation, path } of operationsOf(document)) {
          expect(operation.responses["401"].headers?.["WWW-Authenticate"], `${method} ${path}`).toBeDefined()
        }
        for (
          const [path, method, authorization] of [
            ["/health", "GET", undefined],
            ["/streams/a/events", "GET", "Bearer wrong-token-0123456789"],
            ["/streams/a/events", "POST", `Basic ${token}`],
            ["/docs/openapi.json", "GET", "Bearer"],
            ["/health", "HEAD", undefined]
          ] as const
        ) {
          const refused = yield* Effect.promise(() =>
            fetch(`${url}${path}`, { method, headers: authorization === undefined ? {} : { authorization } })
          )
          expect(refused.status, `${method} ${path}`).toBe(401)
          expect(refused.headers.get("www-authenticate"), `${method} ${path}`).toBe(`Bearer realm="concord"`)
        }
        const accepted = yield* Effect.promise(() =>
          fetch(`${url}/health`, { headers: { authorization: `Bearer ${token}` } })
        )
        expect(accepted.status).toBe(200)
        expect(accepted.headers.get("www-authenticate")).toBeNull()
      }))
  })

  layer(serviceAt({ registries: crmRegistries }))("of a service without a token", (it) => {
    it.effect("is valid for swagger-parser and compiles in ajv's strict mode, one id per schema", () =>
      Effect.gen(function*() {
        yield* checkStrict(yield* fetchDocument(yield* baseUrl))
      }))

    it.effect("has no security scheme and no 401, the /docs page's included", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const document = yield* fetchDocument(url)
        expect(document.security).toBeUndefined()
        expect(document.components.securitySchemes).toBeUndefined()
        for (const { operation } of operationsOf(document)) expect(operation.responses["401"]).toBeUndefined()
        const page = yield* docsPage(url)
        expect(page.security).toBeUndefined()
        expect(page.components.securitySchemes).toBeUndefined()
      }))

    it.effect("states the package's version and a server relative to itself", () =>
      Effect.gen(function*() {
        const document = yield* fetchDocument(yield* baseUrl)
        expect(openApi.version).toBe(packageVersion)
        expect(document.info.version).toBe(packageVersion)
        expect(document.servers).toEqual([{ url: "/", description: expect.any(String) }])
      }))

    it.effect("types from, limit and after: integers with their bounds, a position's pattern", () =>
      Effect.gen(function*() {
        const document = yield* fetchDocument(yield* baseUrl)
        const parameter = (path: string, name: string) =>
          document.paths[path].get.parameters.find((p: Json) => p.name === name)
        expect(parameter("/streams/{streamId}/events", "from").schema).toMatchObject({
          type: "integer",
          minimum: 1,
          maximum: 2_147_483_647
        })
        for (const path of ["/streams/{streamId}/events", "/events"]) {
          expect(parameter(path, "limit").schema).toMatchObject({ type: "integer", minimum: 0, maximum: 10_000 })
        }
        expect(parameter("/events", "after").schema).toEqual(componentRef("PositionFromString"))
        const { compile } = compileDocument(document)
        const position = compile(componentRef("PositionFromString"))
        expect(["0", "17", "5.3", "18446744073709551615"].filter((text) => !position(text))).toEqual([])
        expect(["", "01", "0.5", "1.05", "-1", "1e3", " 5", "5 "].filter((text) => position(text))).toEqual([])
      }))

    it.effect("states a stream id's rules on the path parameter, in code points", () =>
      Effect.gen(function*() {
        const document = yield* fetchDocument(yield* baseUrl)
        const { compile } = compileDocument(document)
        for (const path of ["/streams/{streamId}", "/streams/{streamId}/events"]) {
          for (const operation of Object.values(document.paths[path]).filter((o: any) => o.parameters)) {
            const parameter = (operation as Json).parameters.find((p: Json) => p.in === "path")
            expect(parameter.description).toContain("unpaired UTF-16 surrogate")
            const valid = compile(parameter.schema)
            expect(["a", "client-acme", "..a", "😀".repeat(512), "x".repeat(512)].filter((id) => !valid(id))).toEqual(
              []
            )
            expect(["", ".", "..", "a\u0000b", "x".repeat(513), "😀".repeat(513)].filter((id) => valid(id))).toEqual([])
          }
        }
        expect(document.components.schemas.StreamId).toMatchObject({ type: "string", minLength: 1, maxLength: 512 })
      }))

    it.effect("gives recordedAt the date-time format", () =>
      Effect.gen(function*() {
        const document = yield* fetchDocument(yield* baseUrl)
        const recordedAt = document.components.schemas.RecordedEvent.properties.recordedAt
        const resolved = recordedAt.$ref === undefined
          ? recordedAt
          : document.components.schemas[recordedAt.$ref.split("/").pop()]
        expect(resolved).toMatchObject({ type: "string", format: "date-time" })
      }))

    it.effect("discriminates every union of errors on _tag, the 409's included, its mapping as the members' tags", () =>
      Effect.gen(function*() {
        const document = yield* fetchDocument(yield* baseUrl)
        const conflict = document.paths["/streams/{streamId}/events"].post.responses["409"].content["application/json"]
          .schema
        expect(conflict.discriminator).toEqual({
          propertyName: "_tag",
          mapping: {
            ConcurrencyConflict: "#/components/schemas/ConcurrencyConflict",
            WrongExpectedVersion: "#/components/schemas/WrongExpectedVersion"
          }
        })
        const unions = valuesOf(document.paths, "discriminator")
        expect(unions.length).toBeGreaterThan(operationsOf(document).filter(({ method }) => method !== "head").length)
        for (const operation of operationsOf(document)) {
          for (const response of Object.values(operation.operation.responses) as Array<Json>) {
            const schema = response.content?.["application/json"]?.schema
            if (schema === undefined) continue
            expect(schema.anyOf).toBeUndefined()
            if (schema.oneOf === undefined) continue
            expect(schema.oneOf).toEqual(Object.values(schema.discriminator.mapping).map(($ref) => ({ $ref })))
            for (const [tag, $ref] of Object.entries(schema.discriminator.mapping as Record<string, string>)) {
              const member = document.components.schemas[$ref.split("/").pop()!]
              expect(member.properties._tag.enum).toEqual([tag])
              expect(member.required).toContain("_tag")
            }
          }
        }
      }))

    it.effect("documents 404 and 405 as JSON, and the service answers them as documented", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const document = yield* fetchDocument(url)
        const { compile } = compileDocument(document)
        const notFound = resolveResponse(document, document["x-unrouted"])
        expect(notFound).toBe(document.components.responses.NotFound)
        for (const item of Object.values(document.paths) as Array<Json>) {
          expect(item["x-other-methods"]).toEqual({ $ref: "#/components/responses/MethodNotAllowed" })
        }
        for (const name of ["RequestTimeout", "HeadersTooLarge"]) {
          expect(document.components.responses[name].content["application/json"].schema).toEqual(componentRef(name))
        }
        const answer = (path: string, method: string) =>
          Effect.promise(async () => {
            const response = await fetch(`${url}${path}`, { method })
            return { status: response.status, allow: response.headers.get("allow"), body: await response.json() }
          })
        const missing = yield* answer("/nowhere", "GET")
        expect(missing.status).toBe(404)
        expect(compile(notFound.content["application/json"].schema)(missing.body)).toBe(true)
        const methodNotAllowed = document.components.responses.MethodNotAllowed
        for (const [path, method] of [["/health", "PUT"], ["/streams/a/events", "DELETE"], ["/events", "PATCH"]]) {
          const refused = yield* answer(path!, method!)
          expect(refused.status).toBe(405)
          expect(refused.allow).not.toBeNull()
          expect(compile(methodNotAllowed.content["application/json"].schema)(refused.body)).toBe(true)
        }
      }))

    it.effect("documents the HEAD of every GET, which the service answers with the GET's status and no body", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const document = yield* fetchDocument(url)
        const gets = operationsOf(document).filter(({ method }) => method === "get")
        expect(gets.length).toBeGreaterThan(0)
        for (const { operation: get, path } of gets) {
          const head = document.paths[path].head
          expect(head, path).toBeDefined()
          expect(head.parameters).toEqual(get.parameters)
          expect(Object.keys(head.responses).sort()).toEqual(Object.keys(get.responses).sort())
          for (const response of Object.values(head.responses) as Array<Json>) expect(response.content).toBeUndefined()
        }
        for (const path of ["/health", "/streams/a/events", "/streams/a", "/events", "/docs/openapi.json"]) {
          const [head, get] = yield* Effect.promise(() =>
            Promise.all(["HEAD", "GET"].map((method) =>
              fetch(`${url}${path}`, { method }).then(async (response) => ({
                status: response.status,
                type: response.headers.get("content-type"),
                body: method === "HEAD" ? await response.text() : (await response.text(), "")
              }))
            ))
          )
          expect(head, path).toEqual(get)
        }
        const refused = yield* Effect.promise(() => fetch(`${url}/health`, { method: "PUT" }))
        expect(refused.headers.get("allow")?.split(/, */).sort()).toEqual(["GET", "HEAD"])
      }))

    it.effect("describes the subscription's answer as an event stream", () =>
      Effect.gen(function*() {
        const document = yield* fetchDocument(yield* baseUrl)
        const ok = document.paths["/events/subscribe"].get.responses["200"]
        expect(Object.keys(ok.content)).toEqual(["text/event-stream"])
        expect(ok.content["text/event-stream"].schema.type).toBe("string")
        expect(ok.description).toMatch(/Server-Sent Events/)
        expect(ok.description).toMatch(/Last-Event-ID/)
      }))

    it.effect("lists 411 and 415 on POST only, 413 everywhere", () =>
      Effect.gen(function*() {
        const document = yield* fetchDocument(yield* baseUrl)
        expect(statusesOf(document, "/streams/{streamId}/events", "post")).toEqual(
          ["200", "400", "409", "411", "413", "415", "422", "503"]
        )
        for (const { method, operation } of operationsOf(document)) {
          expect(operation.responses["413"]).toBeDefined()
          expect(operation.responses["411"] !== undefined).toBe(method === "post")
          expect(operation.responses["415"] !== undefined).toBe(method === "post")
        }
      }))
  })
})

describe("requests as strict as the document", () => {
  layer(serviceAt({ registries: crmRegistries }))("over the in-memory store", (it) => {
    const post = (url: string, body: unknown) =>
      Effect.promise(async () => {
        const response = await fetch(`${url}/streams/strict-1/events`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body)
        })
        return { status: response.status, body: (await response.json()) as Json }
      })

    it.effect("refuses an unknown field of the request or of an event with a 400 that names it, writing nothing", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const document = yield* fetchDocument(url)
        const badRequest = compileDocument(document).compile(
          document.paths["/streams/{streamId}/events"].post.responses["400"].content["application/json"].schema
        )
        for (
          const [body, name] of [
            [{ expectedVersion: "any", events: [{ type: "A", data: {}, metaData: { by: "joe" } }] }, "metaData"],
            [{ expectedVersion: "any", events: [], expected: 3 }, "expected"]
          ] as const
        ) {
          const refused = yield* post(url, body)
          expect(refused.status).toBe(400)
          expect(JSON.stringify(refused.body)).toContain(name)
          expect(badRequest(refused.body)).toBe(true)
        }
        const version = yield* Effect.promise(() => fetch(`${url}/streams/strict-1`).then((r) => r.json()))
        expect(version).toEqual({ streamId: "strict-1", version: 0 })
      }))

    it.effect("takes from and limit in decimal digits only, refusing every other spelling with a JSON 400", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const read = (query: string) =>
          Effect.promise(async () => {
            const response = await fetch(`${url}/streams/strict-2/events?${query}`)
            return { status: response.status, body: (await response.json()) as Json }
          })
        for (const query of ["from=1", "limit=0", "limit=10000", "from=2147483647&limit=5"]) {
          expect((yield* read(query)).status).toBe(200)
        }
        for (const name of ["from", "limit"]) {
          for (
            const value of ["1e3", "0x10", "%205", "5%20", "%2B5", "05", "5.0", "-1", "", "1_0", "99999999999999999"]
          ) {
            const refused = yield* read(`${name}=${value}`)
            expect({ query: `${name}=${value}`, status: refused.status }).toEqual({
              query: `${name}=${value}`,
              status: 400
            })
            expect(refused.body._tag).toBe("HttpApiDecodeError")
            expect(refused.body.message).toContain(name)
          }
        }
        expect((yield* read("from=0")).status).toBe(400)
        expect((yield* read("limit=10001")).status).toBe(400)
        expect((yield* read("from=2147483648")).status).toBe(400)
      }))
  })
})
