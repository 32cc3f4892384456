// The conformance suite against ConcordClient.layerEventStore, over a real HTTP server in this process: a program
// written against the store runs unchanged against the service. The service is started, as `concord serve
// --registry <file>` starts it, with a registry file holding the suite's registry for every stream, so the conflict
// semantics are tested over HTTP; the client sends no registry of an append's own (the suite's `registry: "fixed"`).
// Once over a memory store, once over SQLite.
import { ConflictRegistry, EventStore } from "@concord/core"
import { ConcordClient, Registries, Server } from "@concord/server"
import { SqliteEventStore } from "@concord/sql/sqlite"
import { EventStoreSuite } from "@concord/testing/vitest"
import { FetchHttpClient, HttpServer } from "@effect/platform"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Effect, Either, Layer } from "effect"
import * as fs from "node:fs"
import { createServer } from "node:http"
import * as os from "node:os"
import * as path from "node:path"

const directory = fs.mkdtempSync(path.join(os.tmpdir(), "concord-client-suite-"))

// The suite's registry as its JSON document: one registry for every stream, whatever its category.
const registryFile = path.join(directory, "registry.json")
fs.writeFileSync(registryFile, JSON.stringify(Either.getOrThrow(ConflictRegistry.toDocument(EventStoreSuite.registry))))

/** The service over `store` on a free port of 127.0.0.1, with the registry file; provides its `HttpServer`. */
const service = <E>(store: Layer.Layer<EventStore.EventStore, E>) =>
  Layer.unwrapEffect(Effect.map(Registries.load(registryFile), (registries) => Server.layerApp({ registries }))).pipe(
    Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })),
    Layer.provide(Layer.merge(store, NodeFileSystem.layer))
  )

/** The client's store, and nothing else: the suite reaches the service's store only over HTTP. */
const remote = <E>(store: Layer.Layer<EventStore.EventStore, E>) =>
  Layer.unwrapEffect(
    Effect.map(
      HttpServer.HttpServer,
      (server) => ConcordClient.layerEventStore({ baseUrl: HttpServer.formatAddress(server.address) })
    )
  ).pipe(Layer.provide(FetchHttpClient.layer), Layer.provide(service(store)))

EventStoreSuite.run("ConcordClient over the service on a memory store", remote(EventStore.layerMemory()), {
  registry: "fixed"
})

EventStoreSuite.run(
  "ConcordClient over the service on SQLite",
  remote(SqliteEventStore.layer({ filename: path.join(directory, "suite.db") })),
  { registry: "fixed" }
)
