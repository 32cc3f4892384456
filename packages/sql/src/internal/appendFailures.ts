/**
 * What the database's refusals of an append mean to the store: each is a reason to check the append again the full
 * way, not a failure for the caller.
 *
 * @internal
 */
import type { EventStore, StreamId } from "@concord/core"
import { SqlError } from "@effect/sql/SqlError"
import * as Data from "effect/Data"

/** The driver's error says a unique constraint refused a write. */
const isUniqueCode = (cause: unknown): boolean => {
  const code = (cause as { code?: unknown } | undefined)?.code
  return code === "23505" || code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY"
}

/** A unique constraint refused a write: another writer won a race the lock should have prevented. */
const isUniqueViolation = (error: SqlError): boolean => isUniqueCode(error.cause)

/** @internal */
export class UniqueViolation extends Data.TaggedError("UniqueViolation")<{ readonly cause: SqlError }> {}

/**
 * A failed write as a {@link UniqueViolation} when a unique constraint refused it, else as the `StoreError` `failed`
 * makes.
 *
 * @internal
 */
export const uniqueOr = (failed: (cause: unknown) => EventStore.StoreError) => (error: SqlError) =>
  isUniqueViolation(error) ? new UniqueViolation({ cause: error }) : failed(error)

/**
 * What a driver threw, as a {@link UniqueViolation} when a unique constraint refused the write (SQLite's group commit
 * drives the driver itself), else `undefined`.
 *
 * @internal
 */
export const uniqueViolationOf = (cause: unknown): UniqueViolation | undefined =>
  isUniqueCode(cause)
    ? new UniqueViolation({ cause: new SqlError({ cause, message: "Failed to execute statement" }) })
    : undefined

/**
 * The fast path did not apply: the stream is not at the expected version. Nothing was written.
 *
 * @internal
 */
export class Missed extends Data.TaggedError("Missed") {}

/**
 * PostgreSQL: this transaction took its id before the transaction of the stream's last append did, so the global log
 * (ordered by transaction id) would put this batch before the stream's earlier versions. Nothing was written; a new
 * transaction, whose id is later, can append.
 *
 * @internal
 */
export class OutOfOrder extends Data.TaggedError("OutOfOrder")<{ readonly streamId: StreamId.StreamId }> {
  override get message() {
    return `the transaction appending to stream ${this.streamId} took its id before the stream's last append ` +
      "committed; the global log orders events by transaction id, so the batch would come before the stream's earlier " +
      "versions. Nothing was written: retry the transaction"
  }
}
