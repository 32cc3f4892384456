import type { Checkpoints } from "@concord/core"
import { EventStore, Position } from "@concord/core"
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { Options } from "../SqlCheckpoints.js"
import * as Deadline from "./deadline.js"
import * as Migrations from "./migrations.js"
import * as StoreOptions from "./options.js"
import type { Dialect } from "./rows.js"
import * as SqliteTransaction from "./sqliteTransaction.js"

interface CheckpointRow {
  readonly consumer: string
  readonly position: string
  readonly owner: string | null
  readonly lease_until: number | string | bigint
}

/**
 * Twenty digits hold 2^64 - 1, the largest part of a position: parts padded to them compare as text as they do as
 * numbers, so a position's key (its commit's digits, then its sequence's) compares as the position does.
 */
const keyDigits = 20

/** The order key of a position (see {@link keyDigits}). */
const orderKey = (position: Position.Position) =>
  String(position.commit).padStart(keyDigits, "0") + String(position.sequence).padStart(keyDigits, "0")

/**
 * The order key of the stored `position` column, in SQL: its text is `"<sequence>"` (commit 0) or
 * `"<commit>.<sequence>"`, as `Position.toString` writes it. PostgreSQL compares it byte by byte (`COLLATE "C"`), as
 * SQLite does by default.
 */
const storedOrderKey = (dialect: Dialect) => {
  const zeros = "0".repeat(keyDigits)
  if (dialect === "pg") {
    const commit = "CASE WHEN strpos(position, '.') = 0 THEN '0' ELSE split_part(position, '.', 1) END"
    const sequence = "substr(position, strpos(position, '.') + 1)"
    return `(lpad(${commit}, ${keyDigits}, '0') || lpad(${sequence}, ${keyDigits}, '0')) COLLATE "C"`
  }
  const commit = "CASE WHEN instr(position, '.') = 0 THEN '0' ELSE substr(position, 1, instr(position, '.') - 1) END"
  const sequence = "substr(position, instr(position, '.') + 1)"
  return `(substr('${zeros}' || ${commit}, -${keyDigits}) || substr('${zeros}' || ${sequence}, -${keyDigits}))`
}

/** A failure of the effect run in a transaction, kept apart from the transaction's own `SqlError`s. */
class Inner<E> {
  constructor(readonly error: E) {}
}

/** @internal */
export const make = (options: Options = {}) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const dialect = sql.onDialectOrElse({
      pg: () => "pg" as const,
      sqlite: () => "sqlite" as const,
      orElse: () => "other" as const
    })
    if (dialect === "other") return yield* Effect.dieMessage("Concord's SQL store supports SQLite and PostgreSQL")
    const names = Migrations.tables(options.tablePrefix ?? "concord_")
    const storeError = (operation: string) => (cause: unknown) => new EventStore.StoreError({ operation, cause })
    const statementTimeout = yield* StoreOptions.deadline(
      "statementTimeoutMillis",
      options.statementTimeoutMillis ?? StoreOptions.defaultStatementTimeout
    )
    /** A statement within the bound, failing with `operation`'s StoreError. */
    const bounded = (operation: string) => Deadline.statement(statementTimeout, storeError(operation))
    // The migrations create the table; they run once per database whoever runs them first (the store or this).
    yield* Migrations.run(names, dialect).pipe(Effect.mapError(storeError("run the store's migrations")))
    const table = sql(names.checkpoints)
    const storedKey = sql.literal(storedOrderKey(dialect))

    // Leases are timed by the database's clock, the one clock every process sharing it agrees on; a lease's end is
    // its epoch milliseconds.
    const now = dialect === "pg"
      ? sql.literal("(extract(epoch from clock_timestamp()) * 1000)::bigint")
      : sql.literal("CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)")
    const millis = (value: number) => Math.max(1, Math.ceil(value))

    const toPosition = (consumer: string, text: string) => {
      const position = Position.fromString(text)
      return position === undefined
        ? Effect.fail(
          new EventStore.StoreError({
            operation: `read the checkpoint of consumer ${consumer}`,
            cause: new Error(`the stored position ${JSON.stringify(text)} is not a position`)
          })
        )
        : Effect.succeed(position)
    }

    const changed = (operation: string) => (statement: Effect.Effect<ReadonlyArray<unknown>, SqlError>) =>
      statement.pipe(bounded(operation), Effect.map((rows) => rows.length > 0))

    const service: Checkpoints.Service = {
      acquire: ({ consumer, leaseMillis, owner, startAfter }) =>
        sql<Pick<CheckpointRow, "position">>`INSERT INTO ${table} (consumer, position, owner, lease_until)
          VALUES (${consumer}, ${Position.toString(startAfter)}, ${owner}, ${now} + ${millis(leaseMillis)})
          ON CONFLICT (consumer) DO UPDATE SET owner = excluded.owner, lease_until = excluded.lease_until
          WHERE ${table}.owner IS NULL OR ${table}.owner = excluded.owner OR ${table}.lease_until <= ${now}
          RETURNING position`.pipe(
          bounded(`take the lease of consumer ${consumer}`),
          Effect.flatMap((rows) =>
            rows[0] === undefined
              ? Effect.succeedNone
              : Effect.asSome(toPosition(consumer, rows[0].position))
          )
        ),
      renew: (consumer, owner, leaseMillis) =>
        sql`UPDATE ${table} SET lease_until = ${now} + ${millis(leaseMillis)}
          WHERE consumer = ${consumer} AND owner = ${owner} RETURNING consumer`.pipe(
          changed(`renew the lease of consumer ${consumer}`)
        ),
      // Only forward: a save that reaches the database after a later one (it timed out, and its statement went on)
      // leaves the later position. It still answers whether the owner holds the lease, which is what `false` means.
      save: (consumer, owner, position) =>
        sql`UPDATE ${table}
          SET position = CASE WHEN ${storedKey} < ${orderKey(position)} THEN ${Position.toString(position)}
            ELSE position END
          WHERE consumer = ${consumer} AND owner = ${owner} RETURNING consumer`.pipe(
          changed(`save the checkpoint of consumer ${consumer}`)
        ),
      release: (consumer, owner) =>
        sql`UPDATE ${table} SET owner = NULL, lease_until = 0 WHERE consumer = ${consumer} AND owner = ${owner}`.pipe(
          bounded(`release the lease of consumer ${consumer}`),
          Effect.asVoid
        ),
      get: (consumer) =>
        sql<CheckpointRow>`SELECT consumer, position, owner, lease_until FROM ${table}
          WHERE consumer = ${consumer}`.pipe(
          bounded(`read the checkpoint of consumer ${consumer}`),
          Effect.flatMap((rows) => {
            const row = rows[0]
            if (row === undefined) return Effect.succeedNone
            return Effect.map(toPosition(consumer, row.position), (position) =>
              Option.some<Checkpoints.Checkpoint>({
                consumer: row.consumer,
                position,
                owner: row.owner ?? undefined,
                leaseUntil: Number(row.lease_until)
              }))
          })
        ),
      // The effect's own failures pass through untouched; only the transaction's (begin, commit) become StoreErrors.
      transactional: <A, E, R>(effect: Effect.Effect<A, E, R>) => {
        const inner = Effect.mapError(effect, (error) => new Inner(error))
        const transaction = dialect === "pg" ? sql.withTransaction(inner) : SqliteTransaction.immediate(sql, inner)
        return transaction.pipe(
          Effect.catchAll((error): Effect.Effect<never, E | EventStore.StoreError> =>
            error instanceof Inner
              ? Effect.fail(error.error as E)
              : Effect.fail(storeError("commit a consumer's transaction")(error))
          )
        )
      }
    }
    return service
  })
