/**
 * The `concord` command line: `concord serve` runs the service, `concord tail` prints the events of a running one as
 * they commit. Every flag of `serve`, and `tail`'s `--url` and `--token`, can also come from the environment
 * (`CONCORD_*`); a flag wins over its variable. A relative path (`--db`, `--registry`) is taken from the directory in
 * `CONCORD_CWD`, which the repository's npm scripts set to the one npm was run in, or else from the working directory.
 *
 * @since 0.1.0
 */
import type { EventStore } from "@concord/core"
import { PgEventStore } from "@concord/sql/pg"
import { SqliteEventStore } from "@concord/sql/sqlite"
import { ValidationError } from "@effect/cli"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Cause from "effect/Cause"
import * as Config from "effect/Config"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { identity } from "effect/Function"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import type * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as tailCommand from "./internal/tail.js"
import * as Registries from "./Registries.js"
import * as Server from "./Server.js"

const db = Options.text("db").pipe(
  Options.withDescription(
    "the SQLite file to store events in (env CONCORD_DB; default .concord/concord.db; a relative path is taken from " +
      "the directory in CONCORD_CWD, else the working directory)"
  ),
  Options.withFallbackConfig(Config.string("CONCORD_DB")),
  Options.withDefault(".concord/concord.db")
)
const postgres = Options.text("postgres").pipe(
  Options.withDescription("a PostgreSQL URL to store events in instead (env CONCORD_POSTGRES_URL)"),
  Options.withFallbackConfig(Config.string("CONCORD_POSTGRES_URL")),
  Options.optional
)
const host = Options.text("host").pipe(
  Options.withDescription("the address to bind (env CONCORD_HOST; default 127.0.0.1); others require --token"),
  Options.withFallbackConfig(Config.string("CONCORD_HOST")),
  Options.optional
)
const port = Options.integer("port").pipe(
  Options.withDescription("the port to listen on (env CONCORD_PORT; default 8080; 0 picks a free one)"),
  Options.withFallbackConfig(Config.integer("CONCORD_PORT")),
  Options.optional
)
const registry = Options.text("registry").pipe(
  Options.withDescription(
    "a JSON file of conflict rules (env CONCORD_REGISTRY; a relative path as --db's); without it every stale " +
      "append conflicts"
  ),
  Options.withFallbackConfig(Config.string("CONCORD_REGISTRY")),
  Options.optional
)
const token = Options.redacted("token").pipe(
  Options.withDescription(
    `require Authorization: Bearer <token> on every request (env CONCORD_TOKEN; at least ${Server.minTokenLength} characters)`
  ),
  Options.withFallbackConfig(Config.redacted("CONCORD_TOKEN")),
  Options.optional
)
const maxBodyBytes = Options.integer("max-body-bytes").pipe(
  Options.withDescription("the largest request body accepted (env CONCORD_MAX_BODY_BYTES; default 1048576)"),
  Options.withFallbackConfig(Config.integer("CONCORD_MAX_BODY_BYTES")),
  Options.optional
)
const keepAlive = Options.integer("keep-alive-ms").pipe(
  Options.withDescription(
    "how often the service sends each subscription a comment line, in milliseconds (env CONCORD_KEEP_ALIVE_MS; " +
      "default 15000; at most 30000, as the typed client takes 45 s without a line as a lost connection)"
  ),
  Options.withFallbackConfig(Config.integer("CONCORD_KEEP_ALIVE_MS")),
  Options.withSchema(Schema.Int.pipe(Schema.between(10, 30_000, {
    message: () => "--keep-alive-ms must be between 10 and 30000"
  }))),
  Options.optional
)
const lockTimeout = Options.integer("lock-timeout-ms").pipe(
  Options.withDescription(
    "how long an append waits for another writer's lock before it fails with 503, in milliseconds " +
      "(env CONCORD_LOCK_TIMEOUT_MS; default 5000)"
  ),
  Options.withFallbackConfig(Config.integer("CONCORD_LOCK_TIMEOUT_MS")),
  // Checked whichever way it came: without a bound, an append behind a lock held elsewhere would wait forever.
  Options.withSchema(Schema.Int.pipe(Schema.positive({ message: () => "--lock-timeout-ms must be at least 1" }))),
  Options.withDefault(5_000)
)
/**
 * A whole number of milliseconds a deadline can be: at least 1, and what a 32-bit timer or PostgreSQL takes (the range
 * `Server.layer` takes for its own deadlines).
 */
const millis = (flag: string) =>
  Schema.Int.pipe(Schema.between(1, Server.maxTimeoutMillis, {
    message: () => `--${flag} must be between 1 and ${Server.maxTimeoutMillis}`
  }))
/** A deadline flag `--<flag>`, also read from `CONCORD_<FLAG>` (dashes as underscores), checked by {@link millis}. */
const millisFlag = (flag: string, description: string) =>
  Options.integer(flag).pipe(
    Options.withDescription(description),
    Options.withFallbackConfig(Config.integer(`CONCORD_${flag.toUpperCase().replaceAll("-", "_")}`)),
    Options.withSchema(millis(flag))
  )
/** The store's default deadline of an append past its lock timeout: one lock wait fails first, with its own error. */
const appendTimeoutMargin = 1_000
const appendTimeout = millisFlag(
  "append-timeout-ms",
  "the store's deadline for a whole append, after which it fails with 503 AppendTimeout, in milliseconds " +
    "(env CONCORD_APPEND_TIMEOUT_MS; default --lock-timeout-ms + 1000)"
).pipe(Options.optional)
const statementTimeout = millisFlag(
  "statement-timeout-ms",
  "the store's bound on each reading statement, after which the read fails with 503, in milliseconds " +
    "(env CONCORD_STATEMENT_TIMEOUT_MS; default 30000)"
).pipe(Options.optional)
const connectTimeout = millisFlag(
  "connect-timeout-ms",
  "PostgreSQL: how long opening a connection, or waiting for a free one from the pool, may take, in milliseconds " +
    "(env CONCORD_CONNECT_TIMEOUT_MS; default 5000)"
).pipe(Options.optional)
/** The margin of the request deadline over the store's append deadline: the store's answer, more precise, comes first. */
const requestTimeoutMargin = 2_000
const requestTimeout = millisFlag(
  "request-timeout-ms",
  "how long the service takes to answer a request, reading its body included, before it answers 503 and " +
    "abandons it, in milliseconds (env CONCORD_REQUEST_TIMEOUT_MS; default --append-timeout-ms + 2000, so " +
    "--lock-timeout-ms + 3000)"
).pipe(Options.optional)
const shutdownTimeout = millisFlag(
  "shutdown-timeout-ms",
  "how long a shutdown (SIGTERM) lets the requests in flight finish before it cuts every connection and exits, " +
    "in milliseconds (env CONCORD_SHUTDOWN_TIMEOUT_MS; default 10000)"
).pipe(Options.withDefault(10_000))

/**
 * The absolute path a path given on the command line names: a relative one is taken from the directory in
 * `CONCORD_CWD` when it is set and not empty, else from the working directory. `npm run` starts a script in its
 * package's directory, not the user's, so the repository's scripts pass the user's directory (npm's `INIT_CWD`) on in
 * `CONCORD_CWD`.
 *
 * @since 0.3.0
 * @category paths
 */
export const resolvePath = (file: string): Effect.Effect<string, never, Path.Path> =>
  Effect.gen(function*() {
    const path = yield* Path.Path
    const base = yield* Config.string("CONCORD_CWD").pipe(Config.withDefault(""), Effect.orElseSucceed(() => ""))
    return path.resolve(base === "" ? process.cwd() : base, file)
  })

/** The store the flags name, with their deadlines. */
const storeLayer = (
  flags: {
    readonly db: string
    readonly postgres: Option.Option<string>
    readonly lockTimeout: number
    readonly statementTimeout: Option.Option<number>
    readonly connectTimeout: Option.Option<number>
  },
  appendTimeout: number
): Layer.Layer<EventStore.EventStore, EventStore.StoreError> =>
  Option.isSome(flags.postgres)
    ? PgEventStore.layer({
      url: flags.postgres.value,
      lockTimeoutMillis: flags.lockTimeout,
      appendTimeoutMillis: appendTimeout,
      statementTimeoutMillis: Option.getOrUndefined(flags.statementTimeout),
      connectTimeoutMillis: Option.getOrUndefined(flags.connectTimeout)
    })
    : SqliteEventStore.layer({
      filename: flags.db,
      busyTimeoutMillis: flags.lockTimeout,
      appendTimeoutMillis: appendTimeout,
      statementTimeoutMillis: Option.getOrUndefined(flags.statementTimeout)
    })

const serve = Command.make(
  "serve",
  {
    db,
    postgres,
    host,
    port,
    registry,
    token,
    maxBodyBytes,
    lockTimeout,
    appendTimeout,
    statementTimeout,
    connectTimeout,
    keepAlive,
    requestTimeout,
    shutdownTimeout
  },
  (flags) =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const db = yield* resolvePath(flags.db)
      const registryFile = yield* Effect.transposeMapOption(flags.registry, resolvePath)
      const appendTimeout = Option.getOrElse(flags.appendTimeout, () => flags.lockTimeout + appendTimeoutMargin)
      const requestTimeout = Option.getOrElse(flags.requestTimeout, () => appendTimeout + requestTimeoutMargin)
      const registries = Option.isSome(registryFile)
        ? yield* Registries.load(registryFile.value)
        : Registries.strict
      const options: Server.Options = {
        host: Option.getOrUndefined(flags.host),
        port: Option.getOrUndefined(flags.port),
        token: Option.getOrUndefined(flags.token),
        maxBodyBytes: Option.getOrUndefined(flags.maxBodyBytes),
        keepAliveInterval: Option.getOrUndefined(Option.map(flags.keepAlive, Duration.millis)),
        requestTimeout: Duration.millis(requestTimeout),
        shutdownTimeout: Duration.millis(flags.shutdownTimeout),
        registries
      }
      if (Option.isNone(flags.postgres)) {
        yield* fs.makeDirectory(path.dirname(db), { recursive: true })
      }
      if (requestTimeout >= flags.shutdownTimeout) {
        yield* Effect.logWarning(
          `--request-timeout-ms ${requestTimeout} is not below --shutdown-timeout-ms ${flags.shutdownTimeout}: ` +
            "a request in flight when the service shuts down may lose its answer"
        )
      }
      yield* Effect.logInfo(
        `storing events in ${Option.isSome(flags.postgres) ? "PostgreSQL" : db}; ` +
          (Option.isSome(registryFile)
            ? `conflict rules from ${registryFile.value}` +
              (registries.categories.length > 0 ? ` for ${registries.categories.join(", ")}` : "")
            : "no conflict rules: every stale append conflicts")
      )
      return yield* Layer.launch(Server.layer(options).pipe(Layer.provide(storeLayer({ ...flags, db }, appendTimeout))))
    })
).pipe(Command.withDescription("serve the event-storage API"))

const tail = Command.make("tail", tailCommand.options, tailCommand.run).pipe(
  Command.withDescription(
    "print the events of a running service as they commit, one line each (NDJSON with --json), until interrupted"
  )
)

/**
 * The `concord` command.
 *
 * @since 0.1.0
 * @category commands
 */
export const command = Command.make("concord").pipe(
  Command.withDescription("Concord: event storage that accepts concurrent writes that do not really clash"),
  Command.withSubcommands([serve, tail])
)

/**
 * Runs the command line on `argv` (as `process.argv`).
 *
 * @since 0.1.0
 * @category commands
 */
export const run = Command.run(command, { name: "concord", version: "0.1.0" })

/** What went wrong, in one line: the error's message, and its cause's when it has one. */
const describe = (error: unknown): string => {
  const message = typeof error === "object" && error !== null && "message" in error
    ? String(error.message)
    : String(error)
  const cause = (error as { cause?: unknown } | null)?.cause
  const because = cause instanceof Error && cause.message !== "" && !message.includes(cause.message)
    ? `: ${cause.message}`
    : ""
  return `${message}${because}`.replace(/\s*\n\s*/g, " ")
}

/**
 * Runs a command line program on Node as `concord` runs: the command line prints its own usage errors; any other
 * failure, and any defect, is said in one line on stderr (`<name>: <what went wrong>`), without a stack trace, and
 * the process exits non-zero. An interruption (SIGINT, SIGTERM) is a clean stop. With `logLevel`, logs below it are
 * left out.
 *
 * @since 0.2.0
 * @category commands
 */
export const runMain = <E>(
  name: string,
  program: Effect.Effect<void, E, NodeContext.NodeContext>,
  logLevel?: LogLevel.LogLevel
): void =>
  program.pipe(
    Effect.tapErrorCause((cause) => {
      if (Cause.isInterruptedOnly(cause)) return Effect.void
      const failure = Cause.failureOption(cause)
      if (Option.isSome(failure) && ValidationError.isValidationError(failure.value)) return Effect.void
      const error = Option.orElse(failure, () => Cause.dieOption(cause))
      return Console.error(
        `${name}: ${Option.isSome(error) ? describe(error.value) : Cause.pretty(cause).split("\n")[0]}`
      )
    }),
    logLevel === undefined ? identity : Logger.withMinimumLogLevel(logLevel),
    Effect.provide(NodeContext.layer),
    NodeRuntime.runMain({ disableErrorReporting: true })
  )
