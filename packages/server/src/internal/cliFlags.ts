/**
 * The flags of `concord serve`, each also read from its `CONCORD_*` variable (a flag wins over its variable), and the
 * margins the deadlines' defaults keep between them.
 *
 * @internal
 */
import * as Options from "@effect/cli/Options"
import * as Config from "effect/Config"
import * as Schema from "effect/Schema"
import * as Server from "../Server.js"

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
    "in milliseconds (env CONCORD_SHUTDOWN_TIMEOUT_MS; default 10000)"
).pipe(Options.withDefault(10_000))
