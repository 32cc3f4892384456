// The read model over HTTP, on a real port: it answers reads from the table and refuses everything else.
import { EventStore, ExpectedVersion, StreamId } from "@concord/core"
import { ClientSummary, Database, Events, ReadModel, ReadModelApi, Registry, Story } from "@concord/example-crm"
import { FetchHttpClient, HttpServer } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { describe, expect, layer } from "@effect/vitest"
import { Effect, Layer, Option, Stream } from "effect"
import { createServer } from "node:http"

const served = ReadModelApi.layer.pipe(
  Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })),
  Layer.provideMerge(Database.layerSqlite(":memory:"))
)

const baseUrl = Effect.map(
  HttpServer.HttpServer,
  (server) => server.address._tag === "TcpAddress" ? `http://127.0.0.1:${server.address.port}` : ""
)

/** Appends a client's history and projects it: the read model's summary of it is the fold of the history. */
const seed = (id: string, history: ReadonlyArray<Events.CrmEvent>) =>
  Effect.gen(function*() {
    const streamId = StreamId.make(id)
    const store = yield* EventStore.forDomain({ schema: Events.CrmEvent, registry: Registry.registry })
    yield* store.append(streamId, ExpectedVersion.noStream, history)
    yield* ReadModel.migrate
    const raw = yield* EventStore.EventStore
    yield* Stream.runForEach(raw.read(streamId), ReadModel.project)
    return ClientSummary.fold(id, history)
  })

const request = (url: string, init?: RequestInit) =>
  Effect.promise(async () => {
    const response = await fetch(url, init)
    return { status: response.status, allow: response.headers.get("allow"), body: await response.text() }
  })

describe("the read model over HTTP", () => {
  layer(served, { excludeTestServices: true })((it) => {
    it.effect("GET /clients lists the summaries, GET /clients/{streamId} answers one and 404 for one it has not", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const acme = yield* seed("client-acme-get", Story.acmeHistory)
        expect(acme).toMatchObject({ name: "Acme", expectedValue: 150, meetingNotes: 1, version: 5 })
        const list = yield* request(`${url}/clients`)
        expect(list.status).toBe(200)
        expect(JSON.parse(list.body)).toContainEqual(acme)
        expect(JSON.parse(list.body)).toEqual(yield* ReadModel.list)
        const one = yield* request(`${url}/clients/client-acme-get`)
        expect(one.status).toBe(200)
        expect(JSON.parse(one.body)).toEqual(acme)
        expect(yield* request(`${url}/clients/client-acme-get`, { method: "HEAD" })).toMatchObject({
          status: 200,
          body: ""
        })
        const none = yield* request(`${url}/clients/client-nobody`)
        expect(none.status).toBe(404)
        expect(JSON.parse(none.body)).toEqual({ _tag: "SummaryNotFound", streamId: "client-nobody" })
      }))

    it.effect("every other method is refused with 405 on any path, and nothing changes", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        yield* seed("client-acme-write", Story.acmeHistory)
        const before = yield* ReadModel.list
        const body = JSON.stringify({ streamId: "client-acme-write", name: "Evil", expectedValue: 1 })
        for (const method of ["POST", "PUT", "PATCH", "DELETE"]) {
          for (const path of ["/clients", "/clients/client-acme-write", "/anything"]) {
            const refused = yield* request(`${url}${path}`, {
              method,
              body,
              headers: { "content-type": "application/json" }
            })
            expect(refused, `${method} ${path}`).toEqual({
              status: 405,
              allow: "GET, HEAD",
              body: "the read model is read-only"
            })
          }
        }
        expect(yield* ReadModel.list).toEqual(before)
      }))

    it.effect("the typed lookup finds a summary under an id that needs encoding, and None for an unknown one", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const odd = yield* seed("client-a/b?c#d%e f", Story.acmeHistory)
        const lookup = ReadModelApi.lookup(url)
        expect(yield* lookup("client-a/b?c#d%e f")).toEqual(Option.some(odd))
        expect(yield* lookup("client-nobody")).toEqual(Option.none())
      }).pipe(Effect.provide(FetchHttpClient.layer)))
  })
})
