/**
 * The `concord` command line: `concord serve` runs the service, `concord tail` prints the events of a running one as
 * they commit. Every flag of `serve`, and `tail`'s `--url` and `--token`, can also come from the environment
 * (`CONCORD_*`); a flag wins over its variable. `--otlp-endpoint` also comes from OpenTelemetry's standard
 * `OTEL_EXPORTER_OTLP_ENDPOINT`, and the export it turns on reads `OTEL_SERVICE_NAME` and `OTEL_EXPORTER_OTLP_HEADERS`;
 * `--otlp-trace-ratio` also comes from `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`.
 * A relative path (`--db`, `--registry`) is taken from the directory in
 * `CONCORD_CWD`, which the repository's npm scripts set to the one npm was run in, or else from the working directory.
 *
 * @since 0.1.0
 */
import type { EventStore } from "@concord/core"
import { PgEventStore } from "@concord/sql/pg"
import { SqliteEventStore } from "@concord/sql/sqlite"
import { ValidationError } from "@effect/cli"
import * as Command from "@effect/cli/Command"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Cause from "effect/Cause"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { identity } from "effect/Function"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import type * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as cliFlags from "./internal/cliFlags.js"
import * as cliPaths from "./internal/cliPaths.js"
import * as logOutput from "./internal/logOutput.js"
import * as otlpConfig from "./internal/otlpConfig.js"
import * as tailCommand from "./internal/tail.js"
import * as OtlpExport from "./OtlpExport.js"
import * as Registries from "./Registries.js"
import * as Server from "./Server.js"

/**
 * The absolute path a path given on the command line names: a relative one is taken from the directory in
 * `CONCORD_CWD` when it is set and not empty, else from the working directory. `npm run` starts a script in its
 * package's directory, not the user's, so the repository's scripts pass the user's directory (npm's `INIT_CWD`) on in
 * `CONCORD_CWD`.
 *
 * @since 0.3.0
 * @category paths
 */
export const resolvePath: (file: string) => Effect.Effect<string, never, Path.Path> = cliPaths.resolvePath

/** The store the flags name, with their deadlines. */
const storeLayer = (
  flags: {
    readonly db: string
    readonly postgres: Option.Option<string>
    readonly lockTimeout: number
    readonly statementTimeout: Option.Option<number>
    readonly connectTimeout: Option.Option<number>
    readonly sqliteSynchronous: "full" | "normal"
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
      statementTimeoutMillis: Option.getOrUndefined(flags.statementTimeout),
      synchronous: flags.sqliteSynchronous
    })

/** The flags of `concord serve`, as parsed. */
type ServeFlags = Command.Command.ParseConfig<typeof serveFlags>

const serveFlags = {
  db: cliFlags.db,
  postgres: cliFlags.postgres,
  sqliteSynchronous: cliFlags.sqliteSynchronous,
  host: cliFlags.host,
  port: cliFlags.port,
  registry: cliFlags.registry,
  token: cliFlags.token,
  maxBodyBytes: cliFlags.maxBodyBytes,
  lockTimeout: cliFlags.lockTimeout,
  appendTimeout: cliFlags.appendTimeout,
  statementTimeout: cliFlags.statementTimeout,
  connectTimeout: cliFlags.connectTimeout,
  keepAlive: cliFlags.keepAlive,
  requestTimeout: cliFlags.requestTimeout,
  shutdownTimeout: cliFlags.shutdownTimeout,
  noMetrics: cliFlags.noMetrics,
  otlpEndpoint: cliFlags.otlpEndpoint,
  otlpTraceRatio: cliFlags.otlpTraceRatio,
  logFormat: cliFlags.logFormat,
  logLevel: cliFlags.logLevel,
  slowAppend: cliFlags.slowAppend,
  conflictWarnThreshold: cliFlags.conflictWarnThreshold
}

/**
 * The export the flags ask for, provided to the service so that it sees the tracer when it is built (see
 * `OtlpExport.layer`), or nothing. The last sends, once the service drained, get the export's default bound or the
 * shutdown's if it is less: exporting adds at most that to a shutdown.
 */
const exportLayer = (flags: ServeFlags) =>
  Effect.gen(function*() {
    if (Option.isNone(flags.otlpEndpoint)) return Layer.empty
    const endpoint = new URL(flags.otlpEndpoint.value)
    const serviceName = Option.getOrElse(yield* otlpConfig.serviceName, () => OtlpExport.defaultServiceName)
    const headers = yield* otlpConfig.headers
    // Without its user info or query, which may hold credentials.
    const traces = flags.otlpTraceRatio === 1 ? "traces" : `traces (a share of ${flags.otlpTraceRatio})`
    yield* Effect.logInfo(
      `exporting ${traces}, metrics and log lines of ${serviceName} to ${endpoint.origin}${endpoint.pathname}`
    )
    return OtlpExport.layer({
      endpoint: flags.otlpEndpoint.value,
      serviceName,
      headers: headers === undefined ? undefined : Redacted.value(headers),
      traceRatio: flags.otlpTraceRatio,
      shutdownTimeout: Duration.millis(cliFlags.exportShutdownMillis(flags.shutdownTimeout))
    })
  })

const serve = Command.make("serve", serveFlags, (flags) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const db = yield* resolvePath(flags.db)
    const registryFile = yield* Effect.transposeMapOption(flags.registry, resolvePath)
    const appendTimeout = Option.getOrElse(
      flags.appendTimeout,
      () => flags.lockTimeout + cliFlags.appendTimeoutMargin
    )
    const requestTimeout = Option.getOrElse(flags.requestTimeout, () => appendTimeout + cliFlags.requestTimeoutMargin)
    const registries = Option.isSome(registryFile)
      ? yield* Registries.load(registryFile.value)
      : Registries.strict
    // Its variables checked before anything is said or opened.
    const exported = yield* exportLayer(flags)
    const options: Server.Options = {
      host: Option.getOrUndefined(flags.host),
      port: Option.getOrUndefined(flags.port),
      token: Option.getOrUndefined(flags.token),
      maxBodyBytes: Option.getOrUndefined(flags.maxBodyBytes),
      keepAliveInterval: Option.getOrUndefined(Option.map(flags.keepAlive, Duration.millis)),
      requestTimeout: Duration.millis(requestTimeout),
      shutdownTimeout: Duration.millis(flags.shutdownTimeout),
      metrics: !flags.noMetrics,
      slowAppendThreshold: Duration.millis(flags.slowAppend),
      conflictWarningThreshold: flags.conflictWarnThreshold,
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
    return yield* Layer.launch(
      Server.layer(options).pipe(Layer.provide(storeLayer({ ...flags, db }, appendTimeout)), Layer.provide(exported))
    )
  }).pipe(
    // A line per append: the lines of a few milliseconds written together rather than a system call each.
    Effect.provide(logOutput.layerStdoutWith(flags.logFormat)),
    // For everything the service does, its requests' fibers included, which inherit it.
    Option.isSome(flags.logLevel) ? Logger.withMinimumLogLevel(flags.logLevel.value) : identity
  )).pipe(Command.withDescription(
    "serve the event-storage API. An append is acknowledged once committed: on SQLite, with --sqlite-synchronous full " +
      "(the default), also synced to the disk, so it survives a power loss; on PostgreSQL, as durable as the " +
      "server's synchronous_commit and fsync settings make a commit"
  ))

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
