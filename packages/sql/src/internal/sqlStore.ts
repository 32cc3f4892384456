import { ConflictRegistry, EventStore, Position, StoreBackend, StreamVersion } from "@concord/core"
import type { Event, StreamId } from "@concord/core"
import * as SqlClient from "@effect/sql/SqlClient"
import type Sqlite from "better-sqlite3"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { Options } from "../SqlEventStore.js"
import * as Appending from "./appending.js"
import * as Deadline from "./deadline.js"
import * as GlobalLog from "./globalLog.js"
import * as GroupCommit from "./groupCommit.js"
import * as Migrations from "./migrations.js"
import * as Notifications from "./notifications.js"
import * as StoreOptions from "./options.js"
import * as PgGroupCommit from "./pgGroupCommit.js"
import { decodeRows, eventColumns, type EventRow, retryCancelled, storeError, toRecorded } from "./rows.js"
import * as SqliteStatements from "./sqliteStatements.js"
import * as WatchedSignal from "./watchedSignal.js"

const PAGE = 1_000

/**
 * What the database's own layer adds to a store over the abstract `SqlClient`. PostgreSQL: how to listen for other
 * processes' commits (which also makes the poll interval's default longer). SQLite: a second connection to the file,
 * through which the appends made outside callers' transactions are committed in groups.
 *
 * @internal
 */
export interface Extensions {
  readonly listen?: Notifications.Listen | undefined
  /** PostgreSQL: how to send commit groups, given the store's function for them (else through the `SqlClient`). */
  readonly sendGroup?: ((appendMany: string) => PgGroupCommit.Send) | undefined
  readonly sqliteWriter?: Sqlite.Database | undefined
}

/** What the stores of one client and events table in this process share. */
interface Shared {
  readonly signal: StoreBackend.CommitSignal
  /** SQLite: appends made inside callers' transactions, which the data_version check counts as changes. */
  inCallerTransactions: number
}

/**
 * The commit signal of each store in this process, by client and events table: stores sharing a connection pool
 * (or SQLite's one connection) wake each other's subscribers, which no notification from the database would.
 */
const shared = new WeakMap<SqlClient.SqlClient, Map<string, Shared>>()

const sharedOf = (sql: SqlClient.SqlClient, table: string): Shared => {
  let byTable = shared.get(sql)
  if (byTable === undefined) shared.set(sql, byTable = new Map())
  let entry = byTable.get(table)
  if (entry === undefined) {
    byTable.set(table, entry = { signal: StoreBackend.makeCommitSignal(), inCallerTransactions: 0 })
  }
  return entry
}

/** @internal */
export const make = (options: Options = {}, extensions: Extensions = {}) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const names = Migrations.tables(options.tablePrefix ?? "concord_")
    const registry = options.registry ?? ConflictRegistry.untyped()
    const dialect = sql.onDialectOrElse({
      pg: () => "pg" as const,
      sqlite: () => "sqlite" as const,
      orElse: () => "other" as const
    })
    if (dialect === "other") return yield* Effect.dieMessage("Concord's SQL store supports SQLite and PostgreSQL")
    const lockTimeout = options.lockTimeoutMillis === undefined
      ? undefined
      : yield* StoreOptions.millis("lockTimeoutMillis", options.lockTimeoutMillis)
    const appendTimeout = yield* StoreOptions.deadline(
      "appendTimeoutMillis",
      options.appendTimeoutMillis ?? StoreOptions.defaultAppendTimeout(options.lockTimeoutMillis)
    )
    const statementTimeout = yield* StoreOptions.deadline(
      "statementTimeoutMillis",
      options.statementTimeoutMillis ?? StoreOptions.defaultStatementTimeout
    )
    const pollInterval = Duration.millis(
      // At least 1: SQLite's waiters would otherwise check the file without pause.
      yield* StoreOptions.count(
        "pollIntervalMillis",
        options.pollIntervalMillis ?? (extensions.listen === undefined ? 100 : 1_000)
      )
    )
    const events = sql(names.events)
    const streams = sql(names.streams)
    const columns = eventColumns(sql, dialect)

    yield* Migrations.run(names, dialect).pipe(Effect.mapError(storeError("run the store's migrations")))

    const local = sharedOf(sql, names.events)
    const signal = local.signal
    const notifications = dialect === "pg"
      ? Notifications.make({
        sql,
        channel: Notifications.channelOf(names.events),
        signal,
        listen: extensions.listen,
        statementTimeout
      })
      : undefined
    const pages = GlobalLog.make({ sql, dialect, names, signal, statementTimeout })
    // Other processes' commits: SQLite's are seen in the file's data_version, PostgreSQL's (beyond what notifications
    // announce) in the end of the visible log; one watcher checks for all of the store's waiting subscribers.
    const unannounced = () => local.inCallerTransactions
    const watched = WatchedSignal.make(
      signal,
      pollInterval,
      dialect === "sqlite" ? WatchedSignal.sqliteProbe(sql, unannounced) : Effect.map(pages.end, Position.toString)
    )
    const log: StoreBackend.LiveLog = { ...pages, signal: watched }

    /**
     * After an append. Its own transaction has ended: wake this process's subscribers at once, and announce a
     * commit to other processes (PostgreSQL). Even a failed append wakes them: on PostgreSQL its transaction, while
     * it ran, held back what they could read. Inside a caller's transaction nothing is committed yet: PostgreSQL's
     * notification goes out at its commit, and SQLite's waiters find it at their next check.
     */
    const appended = (inCallerTransaction: boolean) => <A, E>(exit: Exit.Exit<A, E>) =>
      Effect.suspend(() => {
        if (inCallerTransaction) {
          local.inCallerTransactions++
          return Effect.void
        }
        signal.notify()
        return Exit.isSuccess(exit) && notifications !== undefined ? notifications.announce : Effect.void
      })

    // Prepared once the migrations made the tables.
    const committer = dialect === "sqlite" && extensions.sqliteWriter !== undefined
      ? yield* GroupCommit.make({
        sql,
        statements: yield* Effect.try({
          try: () => SqliteStatements.prepare(extensions.sqliteWriter!, names),
          catch: storeError("prepare the store's statements")
        }),
        signal,
        appendTimeout,
        // The writer's commit changed the file's data_version: the watcher need not wake anyone for it.
        committed: (connection) => watched.refresh(WatchedSignal.sqliteProbeOn(connection, unannounced))
      })
      : undefined

    // PostgreSQL: the fast path's writes go in groups, one statement for each group.
    const groupCommit = dialect === "pg"
      ? PgGroupCommit.make({
        send: extensions.sendGroup?.(names.appendMany) ?? (yield* PgGroupCommit.sendThrough(sql, names)),
        appendTimeout
      })
      : undefined

    const append = Appending.make({
      sql,
      dialect,
      names,
      registry,
      lockTimeout,
      appendTimeout,
      writtenInCallerTransaction: notifications?.announceInTransaction ?? Effect.void,
      appended,
      committer: committer?.append,
      fastPath: groupCommit
    })

    const read = (streamId: StreamId.StreamId, readOptions: EventStore.ReadOptions | undefined) => {
      // The bounds every store reads by; they never pass StreamVersion.max, so the parameters stay 32-bit integers,
      // which PostgreSQL would otherwise refuse.
      const { from, limit } = EventStore.readBounds(readOptions)
      const failed = storeError(`read stream ${streamId}`)
      return Stream.paginateChunkEffect({ after: from - 1, left: limit }, ({ after, left }) =>
        left <= 0
          ? Effect.succeed([Chunk.empty<Event.RecordedEvent>(), Option.none()] as const)
          : retryCancelled(
            sql<EventRow>`SELECT ${columns} FROM ${events}
              WHERE stream_id = ${streamId} AND version > ${after} ORDER BY version LIMIT ${Math.min(PAGE, left)}`
          ).pipe(
            Deadline.statement(statementTimeout, failed),
            Effect.flatMap(decodeRows(toRecorded(dialect), failed)),
            Effect.map((page) => {
              const last = page[page.length - 1]
              const next = page.length === Math.min(PAGE, left) && last !== undefined
                ? Option.some({ after: last.version, left: left - page.length })
                : Option.none()
              return [Chunk.unsafeFromArray(page), next] as const
            })
          ))
    }

    const version = (streamId: StreamId.StreamId) => {
      const failed = storeError(`read the version of stream ${streamId}`)
      return retryCancelled(sql<{ version: number }>`SELECT version FROM ${streams} WHERE stream_id = ${streamId}`)
        .pipe(
          Deadline.statement(statementTimeout, failed),
          Effect.flatMap((rows) =>
            Effect.try({ try: () => StreamVersion.make(Number(rows[0]?.version ?? 0)), catch: failed })
          )
        )
    }

    // An append's arguments are checked before anything else (see Appending.make), the others' here.
    const service: EventStore.Service = {
      append,
      read: (streamId, readOptions) =>
        Stream.unwrap(Effect.map(StoreBackend.validateStreamId("read", streamId), () => read(streamId, readOptions))),
      version: (streamId) =>
        Effect.flatMap(StoreBackend.validateStreamId("version", streamId), () => version(streamId)),
      readAll: (readAllOptions) => StoreBackend.readAll(log, readAllOptions),
      // On PostgreSQL the store listens for other processes' commits while it has subscribers.
      subscribe: (subscribeOptions) =>
        notifications === undefined
          ? StoreBackend.subscribe(log, subscribeOptions)
          : Stream.unwrapScoped(Effect.as(notifications.hold, StoreBackend.subscribe(log, subscribeOptions)))
    }
    return service
  })
