/**
 * The global log of a SQL store: the pages `readAll` and `subscribe` read, by the rule every store shares
 * (`StoreBackend.readAll` / `subscribe`).
 *
 * SQLite commits one writer at a time, so the order of positions (an autoincrement key) is the order of commits:
 * reading "after my last position" never skips anything.
 *
 * PostgreSQL is different. A position (an identity) is assigned when a row is inserted, not when its transaction
 * commits, so positions become visible out of order: transaction A takes position 10, B takes 11 and commits first,
 * and a reader that delivered 11 and then resumes "after 11" never sees 10. Each event therefore also stores the id of
 * its writing transaction (`tx_id`, from `pg_current_xact_id()`), and the log is ordered by (tx_id, position). A read
 * only returns events with `tx_id < pg_snapshot_xmin(pg_current_snapshot())`: every transaction with an id below the
 * snapshot's xmin has ended, and every transaction that has not yet taken an id will take a larger one, so no event
 * can ever appear before the ones returned. Resuming is a row comparison, `(tx_id, position) > (commit, sequence)`,
 * served by the index on (tx_id, position).
 *
 * The cost of that guarantee: a transaction that holds an id (one that has written anything, in any database of the
 * cluster) holds back the xmin of every snapshot while it runs. Readers then deliver nothing committed after it
 * started until it ends: delivery waits, nothing is skipped, and all of it comes the moment it ends. A long-running
 * writing transaction (or a forgotten prepared transaction) is a stall of every subscriber, not a loss.
 *
 * @internal
 */
import type { EventStore, StoreBackend } from "@concord/core"
import { Position } from "@concord/core"
import type * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Deadline from "./deadline.js"
import type * as Migrations from "./migrations.js"
import {
  decodeRows,
  type Dialect,
  eventColumns,
  type EventRow,
  positionOf,
  retryCancelled,
  storeError,
  toRecorded
} from "./rows.js"

/** The largest value of a 64-bit signed column: no position is above it. */
const maxSequence = 2n ** 63n - 1n

/** A filter value no event can carry (a NUL, an unpaired UTF-16 surrogate): it matches nothing, and PostgreSQL would
 * refuse it as a parameter. */
const unstorable = /\0|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/**
 * The filter as a condition, the same in both dialects. A category is the part of the stream id before the first
 * `-`, so stream `c` or any stream starting `c-` belongs to category `c`; the prefix is compared with `substr`
 * (counted in characters, as both databases count), not `LIKE`, whose wildcards a category may contain. A category
 * with a `-` in it is no stream's.
 */
const filterCondition = (sql: SqlClient.SqlClient, filter: EventStore.Filter | undefined) => {
  const none = sql.literal("1 = 0")
  const conditions = []
  if (filter?.types !== undefined) {
    const types = [...new Set(filter.types.filter((type) => !unstorable.test(type)))]
    conditions.push(types.length === 0 ? none : sql.in("type", types))
  }
  if (filter?.categories !== undefined) {
    const categories = [
      ...new Set(filter.categories.filter((category) => !category.includes("-") && !unstorable.test(category)))
    ]
    // One prefix comparison per length of category, not per category: SQLite refuses an expression nested deeper
    // than 1,000 levels, which a chain of ORs over some 500 categories is.
    const prefixesByLength = new Map<number, Array<string>>()
    for (const category of categories) {
      const length = [...category].length + 1
      prefixesByLength.set(length, [...(prefixesByLength.get(length) ?? []), `${category}-`])
    }
    conditions.push(
      categories.length === 0 ?
        none :
        sql.or([
          sql.in("stream_id", categories),
          ...[...prefixesByLength].map(([length, prefixes]) =>
            sql`substr(stream_id, 1, ${length}) IN ${sql.in(prefixes)}`
          )
        ])
    )
  }
  return conditions.length === 0 ? sql`` : sql`AND ${sql.and(conditions)}`
}

interface PageRow extends Partial<EventRow> {
  /** The last event a reader could see, read in the same statement (NULL on an empty log). */
  readonly end_position: number | string | bigint | null
  readonly end_tx_id?: string | null
}

/**
 * The store's `LiveLog`: pages of the log, its end, and the signal a subscriber waits on.
 *
 * @internal
 */
export const make = (options: {
  readonly sql: SqlClient.SqlClient
  readonly dialect: Dialect
  readonly names: Migrations.Tables
  readonly signal: StoreBackend.CommitSignal
  /** The client's bound on each statement (milliseconds): a page, the end of the log. */
  readonly statementTimeout: number
}): StoreBackend.LiveLog => {
  const { dialect, sql } = options
  const bounded = (failed: (cause: unknown) => EventStore.StoreError) =>
    Deadline.statement(options.statementTimeout, failed)
  const events = sql(options.names.events)
  const columns = eventColumns(sql, dialect)
  const decode = toRecorded(dialect)

  const endOf = (row: PageRow | undefined): Position.Position =>
    row === undefined || row.end_position === null || row.end_position === undefined
      ? Position.start
      : positionOf({ position: row.end_position, tx_id: row.end_tx_id ?? undefined })

  const after = (position: Position.Position) => ({
    commit: String(position.commit),
    sequence: String(position.sequence > maxSequence ? maxSequence : position.sequence)
  })

  /**
   * A page without a filter: every visible event after `after` matches, so a short page holds all of them up to the
   * end, and its last event (or `after`) is how far it read. The end is not needed, and the statement is the plain
   * ordered range scan.
   */
  const plainPage = (from: Position.Position, limit: number) => {
    const { commit, sequence } = after(from)
    return dialect === "pg"
      ? sql<EventRow>`SELECT ${columns} FROM ${events} AS e
          WHERE (e.tx_id, e.position) > (${commit}::xid8, ${sequence}::bigint)
            AND e.tx_id < pg_snapshot_xmin(pg_current_snapshot())
          -- e.tx_id, not the text the select list names tx_id: transaction ids order as numbers.
          ORDER BY e.tx_id, e.position LIMIT ${limit}`
      : sql<EventRow>`SELECT ${columns} FROM ${events} WHERE position > ${Number(sequence)}
          ORDER BY position LIMIT ${limit}`
  }

  /**
   * A filtered page: one statement reads the page and the end of the log, so both come from one snapshot. When the
   * page is short, everything up to that end was read, and the page says so (`through`), sparing a filtered
   * subscriber a rescan of what it skipped.
   */
  const filteredPage = (from: Position.Position, limit: number, filter: EventStore.Filter) => {
    const { commit, sequence } = after(from)
    return dialect === "pg"
      ? sql<PageRow>`WITH horizon AS MATERIALIZED (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin),
          last AS (
            SELECT tx_id, position FROM ${events} WHERE tx_id < (SELECT xmin FROM horizon)
            ORDER BY tx_id DESC, position DESC LIMIT 1
          ),
          page AS (
            SELECT ${columns} FROM ${events} AS e
            WHERE (e.tx_id, e.position) > (${commit}::xid8, ${sequence}::bigint)
              AND e.tx_id < (SELECT xmin FROM horizon) ${filterCondition(sql, filter)}
            ORDER BY e.tx_id, e.position LIMIT ${limit}
          )
          SELECT page.*, last.position AS end_position, last.tx_id::text AS end_tx_id FROM last LEFT JOIN page ON true`
      : sql<PageRow>`WITH last AS (SELECT max(position) AS position FROM ${events}),
          page AS (
            SELECT ${columns} FROM ${events} WHERE position > ${Number(sequence)} ${filterCondition(sql, filter)}
            ORDER BY position LIMIT ${limit}
          )
          SELECT page.*, last.position AS end_position FROM last LEFT JOIN page ON 1`
  }

  const readPlain = (from: Position.Position, limit: number, failed: (cause: unknown) => EventStore.StoreError) =>
    retryCancelled(plainPage(from, limit)).pipe(
      bounded(failed),
      Effect.flatMap(decodeRows(decode, failed)),
      Effect.map((page): StoreBackend.Page => ({ events: page, through: page[page.length - 1]?.position ?? from }))
    )

  const readFiltered = (
    from: Position.Position,
    limit: number,
    filter: EventStore.Filter,
    failed: (cause: unknown) => EventStore.StoreError
  ) =>
    retryCancelled(filteredPage(from, limit, filter)).pipe(
      bounded(failed),
      Effect.flatMap((rows) =>
        Effect.map(
          decodeRows(decode, failed)(rows.filter((row): row is PageRow & EventRow => typeof row.event_id === "string")),
          (page): StoreBackend.Page => {
            // The join keeps the page's order in practice; SQL promises it only with an ORDER BY on the whole.
            for (let i = 1; i < page.length; i++) {
              if (!Position.isAfter(page[i]!.position, page[i - 1]!.position)) {
                page.sort((a, b) => Position.Order(a.position, b.position))
                break
              }
            }
            const last = page[page.length - 1]?.position
            return {
              events: page,
              through: page.length === limit && last !== undefined ? last : Position.max(from, endOf(rows[0]))
            }
          }
        )
      )
    )

  const readAfter = (
    from: Position.Position,
    limit: number,
    filter: EventStore.Filter | undefined
  ): Effect.Effect<StoreBackend.Page, EventStore.StoreError> => {
    // SQLite's positions all have commit 0 and fit a JavaScript number: one past that is past the whole log.
    if (dialect === "sqlite" && (from.commit !== 0n || from.sequence > BigInt(Number.MAX_SAFE_INTEGER))) {
      return Effect.succeed({ events: [], through: from })
    }
    const failed = storeError("read the global log")
    // A filter with neither list matches every event: its pages are plain ones.
    return filter === undefined || (filter.types === undefined && filter.categories === undefined)
      ? readPlain(from, limit, failed)
      : readFiltered(from, limit, filter, failed)
  }

  const end = retryCancelled(
    dialect === "pg"
      ? sql<PageRow>`SELECT position AS end_position, tx_id::text AS end_tx_id FROM ${events}
          WHERE tx_id < pg_snapshot_xmin(pg_current_snapshot()) ORDER BY tx_id DESC, position DESC LIMIT 1`
      : sql<PageRow>`SELECT max(position) AS end_position FROM ${events}`
  ).pipe(
    bounded(storeError("read the end of the global log")),
    Effect.flatMap((rows) =>
      Effect.try({ try: () => endOf(rows[0]), catch: storeError("read the end of the global log") })
    )
  )

  return { readAfter, end, signal: options.signal }
}
