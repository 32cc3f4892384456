import type { EventStore } from "@concord/core"
import { ExpectedVersion, StreamId } from "@concord/core"
import { Registry } from "@concord/example-crm"
import { ConcordClient, OtlpExport, Registries, Server } from "@concord/server"
import { PgEventStore } from "@concord/sql/pg"
import { SqliteEventStore } from "@concord/sql/sqlite"
import { FetchHttpClient } from "@effect/platform"
import { Effect, Layer, Redacted } from "effect"
import { program } from "./quick-start.js"

// #region embed
// The service inside your own program: the CRM's rules for streams named client-…, plain optimistic concurrency for
// every other stream, events in a SQLite file.
const registries = Registries.byCategory({ client: Registry.registry })

export const service = (options: { readonly port: number; readonly filename: string }) =>
  Server.layer({ port: options.port, registries }).pipe(
    Layer.provide(SqliteEventStore.layer({ filename: options.filename }))
  )
// Layer.launch(service({ port: 8080, filename: ".concord/concord.db" })) serves until the program is interrupted
// #endregion embed

// #region production
// One of several identical processes behind a load balancer: all of them on one PostgreSQL database, each bound to
// every interface (which requires a token) and none holding state of its own.
export const production = (options: { readonly port: number; readonly postgresUrl: string; readonly token: string }) =>
  Server.layer({ host: "0.0.0.0", port: options.port, token: Redacted.make(options.token), registries }).pipe(
    Layer.provide(PgEventStore.layer({ url: options.postgresUrl }))
  )
// #endregion production

// #region observed
// Traces, metrics and log lines to an OpenTelemetry collector (its OTLP/HTTP base URL), an append slower than half a
// second logged as a warning; provided to Server.layer, which sees the tracer when it is built.
export const observed = (options: { readonly port: number; readonly filename: string; readonly collector: string }) =>
  Server.layer({ port: options.port, registries, slowAppendThreshold: "500 millis" }).pipe(
    Layer.provide(SqliteEventStore.layer({ filename: options.filename })),
    Layer.provide(OtlpExport.layer({ endpoint: options.collector, serviceName: "crm-events" }))
  )
// #endregion observed

// #region remote-store
// Any program written against the EventStore runs against the service: the same typed errors come back.
export const remoteStore = (baseUrl: string, token?: string): Layer.Layer<EventStore.EventStore> =>
  ConcordClient.layerEventStore({ baseUrl, token: token === undefined ? undefined : Redacted.make(token) }).pipe(
    Layer.provide(FetchHttpClient.layer)
  )

const remote = (baseUrl: string) => program.pipe(Effect.provide(remoteStore(baseUrl)))
// succeeds with { streamId: "client-acme", firstVersion: 3, lastVersion: 3, rebasedOver: 1 }
// #endregion remote-store

// #region client
// The client derived from the HTTP API: one method per endpoint, typed requests, typed errors.
const direct = (baseUrl: string) =>
  Effect.gen(function*() {
    const client = yield* ConcordClient.make({ baseUrl })
    const streamId = StreamId.make("client-globex")
    const appended = yield* client.streams.append({
      path: { streamId },
      payload: {
        expectedVersion: ExpectedVersion.noStream,
        events: [{ type: "ClientRegistered", data: { name: "Globex", value: 250 } }]
      }
    })
    const { events } = yield* client.streams.read({ path: { streamId }, urlParams: {} })
    const { version } = yield* client.streams.version({ path: { streamId } })
    const health = yield* client.health.health()
    return { appended, types: events.map((event) => event.type), version, health }
  }).pipe(Effect.provide(FetchHttpClient.layer))
// succeeds with appended { firstVersion: 1, ... }, types ["ClientRegistered"], version 1, health { status: "ok" }
// #endregion client

// For the docs' tests: the outcomes of the two client examples.
export const runRemote = (baseUrl: string) => Effect.runPromise(remote(baseUrl))
export const runDirect = (baseUrl: string) => Effect.runPromise(direct(baseUrl))
