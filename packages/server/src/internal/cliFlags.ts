/**
 * The flags of `concord serve`, each also read from its `CONCORD_*` variable (a flag wins over its variable), and the
 * margins the deadlines' defaults keep between them.
 *
 * @internal
 */
import * as Options from "@effect/cli/Options"
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as OtlpExport from "../OtlpExport.js"
import * as Server from "../Server.js"
import * as otlpConfig from "./otlpConfig.js"

export const db = Options.text("db").pipe(
  Options.withDescription(
    "the SQLite file to store events in (env CONCORD_DB; default .concord/concord.db; a relative path is taken from " +
      "the directory in CONCORD_CWD, else the working directory)"
  ),
  Options.withFallbackConfig(Config.string("CONCORD_DB")),
  Options.withDefault(".concord/concord.db")
)
export const postgres = Options.text("postgres").pipe(
  Options.withDescription(
    "a PostgreSQL URL to store events in instead (env CONCORD_POSTGRES_URL); an append is answered once its " +
      "transaction committed, as durable as the server's synchronous_commit and fsync settings make a commit"
  ),
  Options.withFallbackConfig(Config.string("CONCORD_POSTGRES_URL")),
  Options.optional
)
export const sqliteSynchronous = Options.choice("sqlite-synchronous", ["full", "normal"]).pipe(
  Options.withDescription(
    "SQLite: what an acknowledged append survives (env CONCORD_SQLITE_SYNCHRONOUS; default full). full: every " +
      "commit is synced to the disk before its appends are answered, so an acknowledged append survives a crash of " +
      "the service, of the operating system and a power loss; appends that arrive together share one commit and one " +
      "sync. normal: the log is synced only at checkpoints, so an acknowledged append survives a crash of the " +
      "service, but an operating system crash or a power loss can lose those acknowledged since the last checkpoint"
  ),
  Options.withFallbackConfig(Config.literal("full", "normal")("CONCORD_SQLITE_SYNCHRONOUS")),
  Options.withDefault("full" as const)
)
export const host = Options.text("host").pipe(
  Options.withDescription("the address to bind (env CONCORD_HOST; default 127.0.0.1); others require --token"),
  Options.withFallbackConfig(Config.string("CONCORD_HOST")),
  Options.optional
)
export const port = Options.integer("port").pipe(
  Options.withDescription("the port to listen on (env CONCORD_PORT; default 8080; 0 picks a free one)"),
  Options.withFallbackConfig(Config.integer("CONCORD_PORT")),
  Options.optional
)
export const registry = Options.text("registry").pipe(
  Options.withDescription(
    "a JSON file of conflict rules (env CONCORD_REGISTRY; a relative path as --db's); without it every stale " +
      "append conflicts"
  ),
  Options.withFallbackConfig(Config.string("CONCORD_REGISTRY")),
  Options.optional
)
export const token = Options.redacted("token").pipe(
  Options.withDescription(
    "require Authorization: Bearer <token> on every request " +
      `(env CONCORD_TOKEN; at least ${Server.minTokenLength} characters)`
  ),
  Options.withFallbackConfig(Config.redacted("CONCORD_TOKEN")),
  Options.optional
)
export const maxBodyBytes = Options.integer("max-body-bytes").pipe(
  Options.withDescription("the largest request body accepted (env CONCORD_MAX_BODY_BYTES; default 1048576)"),
  Options.withFallbackConfig(Config.integer("CONCORD_MAX_BODY_BYTES")),
  Options.optional
)
export const keepAlive = Options.integer("keep-alive-ms").pipe(
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
export const lockTimeout = Options.integer("lock-timeout-ms").pipe(
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
export const millis = (flag: string) =>
  Schema.Int.pipe(Schema.between(1, Server.maxTimeoutMillis, {
    message: () => `--${flag} must be between 1 and ${Server.maxTimeoutMillis}`
  }))
/** A deadline flag `--<flag>`, also read from `CONCORD_<FLAG>` (dashes as underscores), checked by {@link millis}. */
export const millisFlag = (flag: string, description: string) =>
  Options.integer(flag).pipe(
    Options.withDescription(description),
    Options.withFallbackConfig(Config.integer(`CONCORD_${flag.toUpperCase().replaceAll("-", "_")}`)),
    Options.withSchema(millis(flag))
  )
/** The store's default deadline of an append past its lock timeout: one lock wait fails first, with its own error. */
export const appendTimeoutMargin = 1_000
export const appendTimeout = millisFlag(
  "append-timeout-ms",
  "the store's deadline for a whole append, after which it fails with 503 AppendTimeout, in milliseconds " +
    "(env CONCORD_APPEND_TIMEOUT_MS; default --lock-timeout-ms + 1000)"
).pipe(Options.optional)
export const statementTimeout = millisFlag(
  "statement-timeout-ms",
  "the store's bound on each reading statement, after which the read fails with 503, in milliseconds " +
    "(env CONCORD_STATEMENT_TIMEOUT_MS; default 30000)"
).pipe(Options.optional)
export const connectTimeout = millisFlag(
  "connect-timeout-ms",
  "PostgreSQL: how long opening a connection, or waiting for a free one from the pool, may take, in milliseconds " +
    "(env CONCORD_CONNECT_TIMEOUT_MS; default 5000)"
).pipe(Options.optional)
/**
 * The margin of the request deadline over the store's append deadline: the store's answer, more precise, comes first.
 */
export const requestTimeoutMargin = 2_000
export const requestTimeout = millisFlag(
  "request-timeout-ms",
  "how long the service takes to answer a request, reading its body included, before it answers 503 and " +
    "abandons it, in milliseconds (env CONCORD_REQUEST_TIMEOUT_MS; default --append-timeout-ms + 2000, so " +
    "--lock-timeout-ms + 3000)"
).pipe(Options.optional)
export const shutdownTimeout = millisFlag(
  "shutdown-timeout-ms",
  "how long a shutdown (SIGTERM) lets the requests in flight finish before it cuts every connection and exits, " +
    "in milliseconds (env CONCORD_SHUTDOWN_TIMEOUT_MS; default 10000); with --otlp-endpoint, sending what was " +
    `gathered adds at most ${Duration.toMillis(OtlpExport.defaultShutdownTimeout)}, or this bound if it is less`
).pipe(Options.withDefault(10_000))
/**
 * The bound of the export's last sends, after the service's drain: the export's own default, or the shutdown's bound if
 * it is less, so that exporting adds no more than that to a shutdown.
 */
export const exportShutdownMillis = (shutdownMillis: number): number =>
  Math.min(Duration.toMillis(OtlpExport.defaultShutdownTimeout), shutdownMillis)
/**
 * The first of these variables that is set and not empty, as a missing value when none is (an empty value counts as
 * unset, as OpenTelemetry's specification reads its variables).
 */
const firstSet = (...names: ReadonlyArray<string>): Config.Config<string> =>
  Config.all(names.map((name) => Config.option(Config.string(name)))).pipe(
    Config.mapOrFail((values) => {
      const set = values.find((value) => Option.isSome(value) && value.value !== "")
      return set === undefined || Option.isNone(set)
        ? Either.left(ConfigError.MissingData([], `none of ${names.join(", ")} is set`))
        : Either.right(set.value)
    })
  )
export const otlpEndpoint = Options.text("otlp-endpoint").pipe(
  Options.withDescription(
    "send traces, metrics and log lines to the OpenTelemetry collector at this OTLP/HTTP base URL, such as " +
      "http://localhost:4318, as JSON to its /v1/traces, /v1/metrics and /v1/logs (env CONCORD_OTLP_ENDPOINT, else " +
      "OTEL_EXPORTER_OTLP_ENDPOINT; OTEL_SERVICE_NAME names the service, default concord; OTEL_EXPORTER_OTLP_HEADERS " +
      "adds headers, key=value,..., where a collector's key goes: the URL takes no credentials, query or fragment). " +
      "Off without it; on, every request has its spans (see --otlp-trace-ratio). No event data or token is sent"
  ),
  Options.withFallbackConfig(firstSet("CONCORD_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")),
  Options.withSchema(
    Schema.String.pipe(Schema.filter((endpoint) => OtlpExport.endpointProblem(endpoint) === undefined, {
      message: (issue) => `--otlp-endpoint: ${OtlpExport.endpointProblem(String(issue.actual))}`
    }))
  ),
  Options.optional
)
export const otlpTraceRatio = Options.float("otlp-trace-ratio").pipe(
  Options.withDescription(
    "with --otlp-endpoint, the share of requests whose traces are sent, from 0 to 1 (env CONCORD_OTLP_TRACE_RATIO, " +
      "else OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG: always_on 1, always_off 0, traceidratio its argument; " +
      "default 1, every request). A traced request costs the service about as much CPU as an append on SQLite; the " +
      "others are spared recording and sending their spans. A request whose traceparent header says whether it is " +
      "sampled is traced as it says; metrics and log lines are sent whatever the share"
  ),
  Options.withFallbackConfig(otlpConfig.traceRatio),
  Options.withSchema(Schema.Number.pipe(Schema.between(0, 1, {
    message: () => "--otlp-trace-ratio must be a number from 0 to 1"
  }))),
  Options.withDefault(1)
)
export const noMetrics = Options.boolean("no-metrics").pipe(
  Options.withDescription(
    "do not serve GET /metrics, the Prometheus text of the service's counters, gauges and histograms " +
      "(env CONCORD_METRICS=false; served by default, behind the token when one is set)"
  ),
  Options.withFallbackConfig(Config.map(Config.boolean("CONCORD_METRICS"), (metrics) => !metrics))
)
export const logFormat = Options.choice("log-format", ["pretty", "json"]).pipe(
  Options.withDescription(
    "how log lines are written to stdout (env CONCORD_LOG_FORMAT; default pretty): pretty, for a terminal, or json, " +
      "one JSON object a line with timestamp, level, fiber, message, annotations, spans and cause"
  ),
  Options.withFallbackConfig(Config.literal("pretty", "json")("CONCORD_LOG_FORMAT")),
  Options.withDefault("pretty" as const)
)
/** The levels `--log-level` takes, each with the least level it lets through. */
const logLevels = {
  trace: LogLevel.Trace,
  debug: LogLevel.Debug,
  info: LogLevel.Info,
  warning: LogLevel.Warning,
  error: LogLevel.Error,
  none: LogLevel.None
} as const
export const logLevel = Options.choice("log-level", Object.keys(logLevels) as Array<keyof typeof logLevels>).pipe(
  Options.withDescription(
    "the least level of the log lines written, and exported with --otlp-endpoint: trace, debug (adds a line per " +
      "request), info, warning, error or none (env CONCORD_LOG_LEVEL; default info)"
  ),
  Options.withFallbackConfig(
    Config.literal("trace", "debug", "info", "warning", "error", "none")("CONCORD_LOG_LEVEL")
  ),
  // Without it, the level stays as it is: info, or what `concord --log-level <level> serve` set.
  Options.optional,
  Options.map(Option.map((level) => logLevels[level]))
)
export const slowAppend = Options.integer("slow-append-ms").pipe(
  Options.withDescription(
    "an append that takes longer, in milliseconds, is logged as a warning (env CONCORD_SLOW_APPEND_MS; default 1000)"
  ),
  Options.withFallbackConfig(Config.integer("CONCORD_SLOW_APPEND_MS")),
  Options.withSchema(millis("slow-append-ms")),
  Options.withDefault(1_000)
)
export const conflictWarnThreshold = Options.integer("conflict-warn-threshold").pipe(
  Options.withDescription(
    "log a warning when more appends than this conflict within a minute (env CONCORD_CONFLICT_WARN_THRESHOLD; " +
      "default 10; 0 turns the warning off)"
  ),
  Options.withFallbackConfig(Config.integer("CONCORD_CONFLICT_WARN_THRESHOLD")),
  Options.withSchema(Schema.Int.pipe(Schema.nonNegative({
    message: () => "--conflict-warn-threshold must be 0 (off) or more"
  }))),
  Options.withDefault(10)
)
