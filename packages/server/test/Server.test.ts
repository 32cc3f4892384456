import SwaggerParser from "@apidevtools/swagger-parser"
import { CommandHandler, EventStore, ExpectedVersion, StreamId } from "@concord/core"
import { Commands, Events, Registry } from "@concord/example-crm"
import { Api, ConcordClient, Registries, Server } from "@concord/server"
import { FetchHttpClient, HttpApp, HttpRouter, HttpServerResponse } from "@effect/platform"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { describe, expect, it, layer } from "@effect/vitest"
import { Effect, Either, Exit, Layer, Redacted } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Authorization from "../src/internal/authorization.js"
import { type Exposition, parse } from "./support/prometheus.js"
import { baseUrl, serviceAt } from "./support/service.js"

const registryDocument = JSON.parse(
  fs.readFileSync(new URL("../../example-crm/registry.json", import.meta.url), "utf8")
) as { readonly categories: { readonly client: unknown } }
const registries = Either.getOrThrow(Registries.fromDocument(registryDocument))
const token = "s3cret-token-of-22-chars"

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  Effect.promise(async () => {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: typeof body === "string" ? body : JSON.stringify(body)
    })
    const text = await response.text()
    return { status: response.status, body: (text === "" ? { empty: true } : JSON.parse(text)) as Record<string, any> }
  })

const get = (url: string, headers: Record<string, string> = {}) =>
  Effect.promise(async () => {
    const response = await fetch(url, { headers })
    return { status: response.status, text: await response.text() }
  })

const note = (text: string) => ({ type: "MeetingNoteAdded", data: { noteId: text, author: "h", text } })
const upgrade = (value: number) => ({ type: "ClientValueUpgraded", data: { value } })

describe("Server", () => {
  layer(serviceAt({ registries, maxBodyBytes: 64 * 1024 }))("over the in-memory store", (it) => {
    it.effect("Joe & Harry through the typed client: the stale upgrade goes through, and no data is lost", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const client = ConcordClient.layerEventStore({ baseUrl: url }).pipe(Layer.provide(FetchHttpClient.layer))
        const id = StreamId.make("client-joe-harry")
        const options = { schema: Events.CrmEvent, registry: Registry.registry }
        yield* Effect.gen(function*() {
          const store = yield* EventStore.forDomain(options)
          yield* store.append(id, ExpectedVersion.noStream, [
            Events.ClientRegistered.make({ name: "Acme", value: 100 })
          ])
          yield* CommandHandler.handle(
            Commands.decider,
            id,
            Commands.AddMeetingNote.make({ noteId: "n1", author: "harry", text: "ok" }),
            {
              ...options,
              expectedVersion: ExpectedVersion.exact(1)
            }
          )
          const joe = yield* CommandHandler.handle(
            Commands.decider,
            id,
            Commands.UpgradeClientValue.make({ value: 500 }),
            {
              ...options,
              expectedVersion: ExpectedVersion.exact(1)
            }
          )
          expect(joe.append).toMatchObject({ firstVersion: 3, rebasedOver: 1 })
          const sally = yield* Effect.flip(
            CommandHandler.handle(Commands.decider, id, Commands.DowngradeClientValue.make({ value: 50 }), {
              ...options,
              expectedVersion: ExpectedVersion.exact(1)
            })
          )
          // The same typed error as the in-process store, with the same data.
          expect(sally._tag).toBe("ConcurrencyConflict")
          expect(sally).toMatchObject({
            expectedVersion: 1,
            actualVersion: 3,
            conflicts: [{
              proposedType: "ClientValueDowngraded",
              committedType: "ClientValueUpgraded",
              committedVersion: 3
            }]
          })
          const loaded = yield* CommandHandler.load(Commands.decider, id, options)
          expect(loaded.state.value).toBe(500)
          expect(loaded.version).toBe(3)
        }).pipe(Effect.provide(client))
      }))

    it.effect("answers each refusal with its status and a body that says why", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const stream = `${url}/streams/client-statuses/events`
        expect(
          (yield* post(stream, {
            expectedVersion: "noStream",
            events: [{ id: "r1", type: "ClientRegistered", data: { name: "a", value: 1 } }]
          })).status
        )
          .toBe(200)
        yield* post(stream, { expectedVersion: 1, events: [upgrade(5)] })

        const conflict = yield* post(stream, { expectedVersion: 1, events: [note("fine"), upgrade(7)] })
        expect(conflict.status).toBe(409)
        expect(conflict.body).toMatchObject({
          _tag: "ConcurrencyConflict",
          expectedVersion: 1,
          actualVersion: 2,
          conflicts: [{ proposedIndex: 1, proposedType: "ClientValueUpgraded", committedVersion: 2 }]
        })

        const ahead = yield* post(stream, { expectedVersion: 9, events: [note("x")] })
        expect(ahead).toMatchObject({
          status: 409,
          body: { _tag: "WrongExpectedVersion", expectedVersion: 9, actualVersion: 2 }
        })

        const duplicate = yield* post(stream, {
          expectedVersion: "any",
          events: [{ id: "r1", ...note("x") }, { id: "r2", ...note("y") }]
        })
        expect(duplicate).toMatchObject({ status: 422, body: { _tag: "DuplicateEventId", eventIds: ["r1"] } })

        const badBody = yield* post(stream, { expectedVersion: 1, events: [{ type: "", data: {} }] })
        expect(badBody.status).toBe(400)
        expect(badBody.body.issues.map((issue: { path: Array<unknown> }) => issue.path)).toContainEqual([
          "events",
          0,
          "type"
        ])

        const nul = yield* post(stream, {
          expectedVersion: "any",
          events: [{ type: "MeetingNoteAdded", data: { text: "a\u0000b" } }]
        })
        expect(nul).toMatchObject({ status: 400, body: { _tag: "InvalidEventData", index: 0 } })

        const tooLarge = yield* post(stream, { expectedVersion: "any", events: [note("x".repeat(70_000))] })
        expect(tooLarge).toMatchObject({ status: 413, body: { _tag: "PayloadTooLarge", limitBytes: 64 * 1024 } })

        const notJson = yield* post(stream, "{\"expectedVersion\": 1, ")
        expect(notJson).toMatchObject({
          status: 400,
          body: { _tag: "MalformedRequest", message: "the request body is not valid JSON" }
        })

        const chunked = yield* Effect.promise(async () => {
          const chunks = new ReadableStream({
            start(controller) {
              for (let i = 0; i < 100; i++) controller.enqueue(new TextEncoder().encode("x".repeat(1_000)))
              controller.close()
            }
          })
          const response = await fetch(stream, { method: "POST", body: chunks, duplex: "half" } as RequestInit)
          return { status: response.status, body: await response.json() }
        })
        expect(chunked).toMatchObject({
          status: 411,
          body: { _tag: "LengthRequired", message: "a Content-Length header is required" }
        })

        expect((yield* get(`${url}/streams/client-statuses`)).text).toBe(
          "{\"streamId\":\"client-statuses\",\"version\":2}"
        )
      }))

    it.effect("applies each category's rules, and the strict default to categories the file does not name", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        for (const category of ["client", "supplier"]) {
          const stream = `${url}/streams/${category}-rules/events`
          yield* post(stream, {
            expectedVersion: "noStream",
            events: [{ type: "ClientRegistered", data: { name: "a", value: 1 } }]
          })
          yield* post(stream, { expectedVersion: 1, events: [upgrade(5)] })
          const stale = yield* post(stream, { expectedVersion: 1, events: [note("n")] })
          expect(stale.status).toBe(category === "client" ? 200 : 409)
        }
      }))

    it.effect("reads with from and limit, and rejects a from or limit out of bounds with the parameter's path", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        yield* post(`${url}/streams/reads-1/events`, {
          expectedVersion: "any",
          events: Array.from({ length: 5 }, (_, i) => note(`n${i}`))
        })
        const page = yield* get(`${url}/streams/reads-1/events?from=2&limit=2`)
        expect(JSON.parse(page.text).events.map((e: { version: number }) => e.version)).toEqual([2, 3])
        for (
          const [query, parameter] of [
            ["limit=10001", "limit"],
            ["limit=-1", "limit"],
            ["from=0", "from"],
            [`from=${Api.maxStreamVersion + 1}`, "from"],
            ["from=1e999", "from"]
          ]
        ) {
          const refused = yield* get(`${url}/streams/reads-1/events?${query}`)
          expect(refused.status, query).toBe(400)
          expect(JSON.parse(refused.text).issues.map((issue: { path: Array<unknown> }) => issue.path), query)
            .toContainEqual([parameter])
        }
        expect(yield* get(`${url}/streams/reads-1/events?from=${Api.maxStreamVersion}`)).toEqual({
          status: 200,
          text: "{\"events\":[]}"
        })
      }))

    it.effect("a read without limit gets one page of the largest size", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        for (let i = 0; i <= Api.maxReadLimit / Api.maxEventsPerAppend; i++) {
          const events = Array.from({ length: Api.maxEventsPerAppend }, () => ({ type: "Noted", data: {} }))
          expect((yield* post(`${url}/streams/long-1/events`, { expectedVersion: "any", events })).status).toBe(200)
        }
        const all = JSON.parse((yield* get(`${url}/streams/long-1/events`)).text).events as Array<{ version: number }>
        expect(all).toHaveLength(Api.maxReadLimit)
        expect(all[all.length - 1]!.version).toBe(Api.maxReadLimit)
        const rest = JSON.parse((yield* get(`${url}/streams/long-1/events?from=${Api.maxReadLimit + 1}`)).text)
        expect(rest.events).toHaveLength(Api.maxEventsPerAppend)
      }))

    it.effect("counts appends by status and by outcome at /metrics", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const scrape = Effect.map(get(`${url}/metrics`), ({ text }) => parse(text))
        const appends = (metrics: Exposition, status: string) =>
          metrics.sum("concord_http_requests_total", { method: "POST", route: "/streams/{streamId}/events", status })
        const before = yield* scrape
        const stream = `${url}/streams/client-metrics/events`
        yield* post(stream, {
          expectedVersion: "noStream",
          events: [{ type: "ClientRegistered", data: { name: "a", value: 1 } }]
        })
        yield* post(stream, { expectedVersion: 1, events: [upgrade(3)] })
        yield* post(stream, { expectedVersion: 1, events: [note("n")] })
        yield* post(stream, { expectedVersion: 1, events: [upgrade(4)] })
        const after = yield* scrape
        expect(["200", "409"].map((status) => appends(after, status) - appends(before, status))).toEqual([3, 1])
        const outcomes = (metrics: Exposition) =>
          ["accepted", "rebased", "conflict"].map((outcome) => metrics.sum("concord_appends_total", { outcome }))
        expect(outcomes(after).map((count, i) => count - outcomes(before)[i]!)).toEqual([2, 1, 1])
      }))

    it.effect("serves a valid OpenAPI document and a browsable page at /docs", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const document = JSON.parse((yield* get(`${url}/docs/openapi.json`)).text)
        const validated = yield* Effect.promise(() => SwaggerParser.validate(structuredClone(document)))
        expect(Object.keys(validated.paths ?? {}).sort()).toEqual([
          "/events",
          "/events/subscribe",
          "/health",
          "/streams/{streamId}",
          "/streams/{streamId}/events"
        ])
        expect(Object.keys(document.paths["/events/subscribe"].get.responses["200"].content)).toEqual([
          "text/event-stream"
        ])
        // A subscription the store cannot start (it fails, or misses the request's deadline) is a JSON 503.
        expect(document.paths["/events/subscribe"].get.responses["503"]).toBeDefined()
        expect(document.paths["/events"].get.parameters.map((p: { name: string }) => p.name).sort()).toEqual(
          ["after", "categories", "limit", "types"]
        )
        // Without a token, no 401 and no security scheme: the document says what this service answers.
        expect(Object.keys(document.paths["/streams/{streamId}/events"].post.responses).sort()).toEqual(
          ["200", "400", "409", "411", "413", "415", "422", "503"]
        )
        expect(document.security).toBeUndefined()
        const page = yield* get(`${url}/docs`)
        expect(page.status).toBe(200)
        expect(page.text).toContain("swagger-ui")
      }))
  })

  layer(serviceAt({ token: Redacted.make(token) }))("with a token", (it) => {
    it.effect("refuses every request without the right bearer token, docs included", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        for (
          const headers of [
            {},
            { authorization: "" },
            { authorization: "Bearer" },
            { authorization: "Bearer " },
            { authorization: "Basic czNjcmV0" },
            { authorization: "Bearer wrong" },
            { authorization: token },
            { authorization: `Bearer ${token}2` },
            { authorization: `Bearer ${token} extra` }
          ]
        ) {
          expect((yield* get(`${url}/health`, headers)).status).toBe(401)
          expect((yield* get(`${url}/docs`, headers)).status).toBe(401)
          expect(
            (yield* post(`${url}/streams/t-1/events`, { expectedVersion: "any", events: [note("x")] }, headers)).status
          ).toBe(401)
        }
        const ok = yield* get(`${url}/health`, { authorization: `Bearer ${token}` })
        expect(ok).toEqual({ status: 200, text: "{\"status\":\"ok\"}" })
        // The scheme is case-insensitive (RFC 9110).
        expect((yield* get(`${url}/health`, { authorization: `bearer ${token}` })).status).toBe(200)
        const version = yield* Effect.provide(
          Effect.flatMap(EventStore.EventStore, (store) => store.version(StreamId.make("t-1"))),
          ConcordClient.layerEventStore({ baseUrl: url, token: Redacted.make(token) }).pipe(
            Layer.provide(FetchHttpClient.layer)
          )
        )
        expect(version).toBe(0)
      }))
  })

  it.effect("refuses to start with an empty or short token, on loopback too", () =>
    Effect.gen(function*() {
      for (const weak of ["", "x", "a".repeat(Server.minTokenLength - 1)]) {
        for (const options of [{ token: Redacted.make(weak) }, { token: Redacted.make(weak), host: "0.0.0.0" }]) {
          const exit = yield* Effect.exit(
            Layer.build(Server.layer({ ...options, port: 0 })).pipe(
              Effect.scoped,
              Effect.provide(EventStore.layerMemory())
            )
          )
          expect(Exit.isFailure(exit) && JSON.stringify(exit.cause)).toContain("WeakToken")
        }
      }
      const app = yield* Effect.exit(Layer.build(serviceAt({ token: Redacted.make("") })).pipe(Effect.scoped))
      expect(Exit.isFailure(app) && JSON.stringify(app.cause)).toContain("WeakToken")
    }))

  it("the token check given an empty token still refuses a request without the header: nothing matches it", async () => {
    // Server.layer refuses such a token at start; the check does not rely on it.
    const check = Effect.flatMap(Api.Authorization, (authorization) => authorization.bearer(Redacted.make(""))).pipe(
      Effect.provide(Authorization.layer(Redacted.make("")))
    )
    const handler = HttpApp.toWebHandler(HttpRouter.empty.pipe(HttpRouter.get(
      "/health",
      check.pipe(
        Effect.as(HttpServerResponse.text("open")),
        Effect.catchTag("Unauthorized", (error) => HttpServerResponse.json(error, { status: 401 }))
      )
    )))
    for (const headers of [{}, { authorization: "" }, { authorization: "Bearer " }, { authorization: "Bearer" }]) {
      const response = await handler(new Request("http://localhost/health", { headers }))
      expect(response.status).toBe(401)
      expect(await response.json()).toEqual({ _tag: "Unauthorized", message: "a valid bearer token is required" })
    }
    expect((await handler(new Request("http://localhost/health", { headers: { authorization: "Bearer x" } }))).status)
      .toBe(401)
  })

  it.effect("a registry file holding a single document applies its rules to every category", () =>
    Effect.gen(function*() {
      const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "concord-registry-")), "single.json")
      fs.writeFileSync(file, JSON.stringify(registryDocument.categories.client))
      const single = yield* Registries.load(file).pipe(Effect.provide(NodeFileSystem.layer))
      expect(single.categories).toEqual([])
      yield* Effect.gen(function*() {
        const url = yield* baseUrl
        for (const category of ["client", "supplier", "nocategory"]) {
          const stream = `${url}/streams/${category}-single/events`
          yield* post(stream, {
            expectedVersion: "noStream",
            events: [{ type: "ClientRegistered", data: { name: "a", value: 1 } }]
          })
          yield* post(stream, { expectedVersion: 1, events: [upgrade(5)] })
          expect((yield* post(stream, { expectedVersion: 1, events: [note("n")] })).status, category).toBe(200)
          expect((yield* post(stream, { expectedVersion: 1, events: [upgrade(6)] })).status, category).toBe(409)
        }
      }).pipe(Effect.provide(serviceAt({ registries: single })))
    }))

  it("refuses to bind beyond loopback without a token", () => {
    expect(Server.isLoopback("127.0.0.1")).toBe(true)
    expect(Server.isLoopback("0.0.0.0")).toBe(false)
    const exit = Effect.runSyncExit(
      Layer.build(Server.layer({ host: "0.0.0.0" })).pipe(
        Effect.scoped,
        Effect.provide(EventStore.layerMemory())
      )
    )
    expect(exit._tag).toBe("Failure")
    expect(JSON.stringify(exit)).toContain("UnsafeBinding")
  })
})
