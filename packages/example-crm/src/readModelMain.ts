// `npm run read-model`: keeps the CRM read model in the database of a Concord service (the SQLite file or PostgreSQL
// database `concord serve` stores in) and serves it read-only on 127.0.0.1: GET /clients, GET /clients/{streamId}.
// Any number may run on one database: one at a time holds the consumer's lease and keeps the table, all of them serve
// it.
import { Cli } from "@concord/server"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as FileSystem from "@effect/platform/FileSystem"
import * as HttpServer from "@effect/platform/HttpServer"
import * as Path from "@effect/platform/Path"
import * as Config from "effect/Config"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import { createServer } from "node:http"
import * as Database from "./Database.js"

import * as ReadModel from "./ReadModel.js"
import * as ReadModelApi from "./ReadModelApi.js"

const db = Options.text("db").pipe(
  Options.withDescription(
    "the service's SQLite file, as `concord serve --db` has it (env CONCORD_DB; default .concord/concord.db; " +
      "a relative path is taken from where npm was run)"
  ),
  Options.withFallbackConfig(Config.string("CONCORD_DB")),
  Options.withDefault(".concord/concord.db")
)
const postgres = Options.text("postgres").pipe(
  Options.withDescription("the service's PostgreSQL URL instead (env CONCORD_POSTGRES_URL)"),
  Options.withFallbackConfig(Config.string("CONCORD_POSTGRES_URL")),
  Options.optional
)
const port = Options.integer("port").pipe(
  Options.withDescription("the port to serve the read model on, on 127.0.0.1 (default 8081; 0 picks a free one)"),
  Options.withDefault(8081)
)

const readModel = Command.make("read-model", { db, postgres, port }, (flags) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const filename = yield* Cli.resolvePath(flags.db)
    if (Option.isNone(flags.postgres)) yield* fs.makeDirectory(path.dirname(filename), { recursive: true })
    const database = Option.isSome(flags.postgres)
      ? Database.layerPostgres(flags.postgres.value)
      : Database.layerSqlite(filename)
    const where = Option.isSome(flags.postgres) ? "PostgreSQL" : filename
    // Announced once the API serves, so that whoever reads the line can ask at once.
    const serving = Layer.effectDiscard(HttpServer.addressFormattedWith((address) =>
      Console.log(
        `The CRM read model of ${where} is listening on ${address} (GET /clients, GET /clients/{streamId})`
      )
    )).pipe(
      Layer.provide(ReadModelApi.layer),
      Layer.provide(NodeHttpServer.layer(createServer, { host: "127.0.0.1", port: flags.port }))
    )
    // Neither ends on its own; whichever fails first stops the other.
    return yield* Effect.raceFirst(ReadModel.run, Layer.launch(serving)).pipe(Effect.provide(database))
  })).pipe(Command.withDescription("keep the CRM read model in a service's database and serve it read-only"))

Cli.runMain("read-model", Command.run(readModel, { name: "read-model", version: "0.1.0" })(process.argv), LogLevel.Info)
