/**
 * The `concord` command line: `concord serve` runs the service, `concord demo` plays the Joe & Harry story against
 * a running service or an embedded store. Every flag can also come from the environment (`CONCORD_*`).
 *
 * @since 0.1.0
 */
import { EventStore } from "@concord/core"
import { Story } from "@concord/example-crm"
import { PgEventStore } from "@concord/sql/pg"
import { SqliteEventStore } from "@concord/sql/sqlite"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as ConcordClient from "./ConcordClient.js"
import * as Registries from "./Registries.js"
import * as Server from "./Server.js"

/** A flag, else an environment variable, else nothing. */
const orEnv = <A>(flag: Option.Option<A>, config: Config.Config<A>) =>
  Option.isSome(flag) ? Effect.succeed(flag) : Config.option(config)

const db = Options.text("db").pipe(
  Options.withDescription("the SQLite file to store events in (env CONCORD_DB; default .concord/concord.db)"),
  Options.optional
)
const postgres = Options.text("postgres").pipe(
  Options.withDescription("a PostgreSQL URL to store events in instead (env CONCORD_POSTGRES_URL)"),
  Options.optional
)
const host = Options.text("host").pipe(
  Options.withDescription("the address to bind (env CONCORD_HOST; default 127.0.0.1); others require --token"),
  Options.optional
)
const port = Options.integer("port").pipe(
  Options.withDescription("the port to listen on (env CONCORD_PORT; default 8080; 0 picks a free one)"),
  Options.optional
)
const registry = Options.text("registry").pipe(
  Options.withDescription(
    "a JSON file of conflict rules (env CONCORD_REGISTRY); without it every stale append conflicts"
  ),
  Options.optional
)
const token = Options.redacted("token").pipe(
  Options.withDescription(
    `require Authorization: Bearer <token> on every request (env CONCORD_TOKEN; at least ${Server.minTokenLength} characters)`
  ),
  Options.optional
)
const maxBodyBytes = Options.integer("max-body-bytes").pipe(
  Options.withDescription("the largest request body accepted (env CONCORD_MAX_BODY_BYTES; default 1048576)"),
  Options.optional
)

const lockTimeoutDescription = "how long an append waits for another writer's lock before it fails with 503, in " +
  "milliseconds (env CONCORD_LOCK_TIMEOUT_MS; default 5000)"
const lockTimeout = Options.integer("lock-timeout-ms").pipe(
  Options.withSchema(Schema.Int.pipe(Schema.positive({ message: () => "--lock-timeout-ms must be at least 1" }))),
  Options.withDescription(lockTimeoutDescription),
  Options.optional
)
const lockTimeoutEnv = Config.integer("CONCORD_LOCK_TIMEOUT_MS").pipe(
  Config.validate({ message: "CONCORD_LOCK_TIMEOUT_MS must be at least 1", validation: (millis) => millis >= 1 })
)

const serve = Command.make(
  "serve",
  { db, postgres, host, port, registry, token, maxBodyBytes, lockTimeout },
  (flags) =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const postgresUrl = yield* orEnv(flags.postgres, Config.string("CONCORD_POSTGRES_URL"))
      const file = Option.getOrElse(yield* orEnv(flags.db, Config.string("CONCORD_DB")), () => ".concord/concord.db")
      const registryFile = yield* orEnv(flags.registry, Config.string("CONCORD_REGISTRY"))
      const registries = Option.isSome(registryFile) ? yield* Registries.load(registryFile.value) : Registries.strict
      const options: Server.Options = {
        host: Option.getOrUndefined(yield* orEnv(flags.host, Config.string("CONCORD_HOST"))),
        port: Option.getOrUndefined(yield* orEnv(flags.port, Config.integer("CONCORD_PORT"))),
        token: Option.getOrUndefined(yield* orEnv<Redacted.Redacted>(flags.token, Config.redacted("CONCORD_TOKEN"))),
        maxBodyBytes: Option.getOrUndefined(yield* orEnv(flags.maxBodyBytes, Config.integer("CONCORD_MAX_BODY_BYTES"))),
        registries
      }
      // Without a bound, an append behind a lock held elsewhere would hold its request forever.
      const lockTimeoutMillis = Option.getOrElse(yield* orEnv(flags.lockTimeout, lockTimeoutEnv), () => 5_000)
      if (Option.isNone(postgresUrl)) yield* fs.makeDirectory(path.dirname(path.resolve(file)), { recursive: true })
      const store = Option.isSome(postgresUrl)
        ? PgEventStore.layer({ url: postgresUrl.value, lockTimeoutMillis })
        : SqliteEventStore.layer({ filename: file, busyTimeoutMillis: lockTimeoutMillis })
      yield* Effect.logInfo(
        `storing events in ${Option.isSome(postgresUrl) ? "PostgreSQL" : path.resolve(file)}; ` +
          (Option.isSome(registryFile)
            ? `conflict rules from ${registryFile.value}` +
              (registries.categories.length > 0 ? ` for ${registries.categories.join(", ")}` : "")
            : "no conflict rules: every stale append conflicts")
      )
      return yield* Layer.launch(Server.layer(options).pipe(Layer.provide(store)))
    })
).pipe(Command.withDescription("serve the event-storage API"))

const url = Options.text("url").pipe(
  Options.withDescription("a running service to play against (env CONCORD_URL); without it an in-memory store"),
  Options.optional
)

const demo = Command.make("demo", { url, token }, (flags) =>
  Effect.gen(function*() {
    const baseUrl = yield* orEnv(flags.url, Config.string("CONCORD_URL"))
    const authorization = Option.getOrUndefined(
      yield* orEnv<Redacted.Redacted>(flags.token, Config.redacted("CONCORD_TOKEN"))
    )
    const store = Option.isSome(baseUrl)
      ? ConcordClient.layerEventStore({ baseUrl: baseUrl.value, token: authorization }).pipe(
        Layer.provide(FetchHttpClient.layer)
      )
      : EventStore.layerMemory()
    yield* Story.play().pipe(Effect.provide(store))
  })).pipe(Command.withDescription("play the Joe & Harry story, step by step"))

/**
 * The `concord` command.
 *
 * @since 0.1.0
 * @category commands
 */
export const command = Command.make("concord").pipe(
  Command.withDescription("Concord: event storage that accepts concurrent writes that do not really clash"),
  Command.withSubcommands([serve, demo])
)

/**
 * Runs the command line on `argv` (as `process.argv`).
 *
 * @since 0.1.0
 * @category commands
 */
export const run = Command.run(command, { name: "concord", version: "0.1.0" })
