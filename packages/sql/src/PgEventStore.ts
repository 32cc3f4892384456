/**
 * The event store on PostgreSQL, for many stateless processes on many machines over one database. Imported from
 * `@concord/sql/pg`, so that only an application on PostgreSQL needs `@effect/sql-pg`.
 *
 * @since 0.1.0
 */
import { EventStore } from "@concord/core"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as internalOptions from "./internal/options.js"
import * as SqlEventStore from "./SqlEventStore.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options extends SqlEventStore.Options {
  readonly url: string | Redacted.Redacted
  /** The size of the connection pool (a whole number, at least 1; default 10). */
  readonly maxConnections?: number | undefined
}

/**
 * A store on PostgreSQL. `lockTimeoutMillis` becomes a session default of every pooled connection (`-c lock_timeout`
 * in the connection's options), so that it bounds the one-statement path of the common append as well as the full
 * path.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options
): Layer.Layer<EventStore.EventStore, EventStore.StoreError> =>
  Layer.unwrapEffect(Effect.gen(function*() {
    const maxConnections = yield* internalOptions.count("maxConnections", options.maxConnections ?? 10)
    const lockTimeout = options.lockTimeoutMillis === undefined
      ? undefined
      : yield* internalOptions.millis("lockTimeoutMillis", options.lockTimeoutMillis)
    const given = typeof options.url === "string" ? options.url : Redacted.value(options.url)
    const url = lockTimeout === undefined ? given : yield* Effect.try({
      try: () => withSessionOption(given, `-c lock_timeout=${lockTimeout}`),
      catch: (cause) => new EventStore.StoreError({ operation: "read the PostgreSQL URL", cause })
    })
    return SqlEventStore.layer({ ...options, lockTimeoutMillis: undefined }).pipe(
      Layer.provide(
        PgClient.layer({ url: Redacted.make(url), maxConnections }).pipe(
          Layer.mapError((cause) => new EventStore.StoreError({ operation: "connect to PostgreSQL", cause }))
        )
      )
    )
  }))

/** The URL with a server option added to the session options it may already carry. */
const withSessionOption = (url: string, option: string): string => {
  const parsed = new URL(url)
  const existing = parsed.searchParams.get("options")
  parsed.searchParams.set("options", existing === null || existing === "" ? option : `${existing} ${option}`)
  return parsed.toString()
}
