// SQLite appends at `synchronous = FULL`, where every commit waits for the disk: Concord's store against the raw
// driver committing one transaction per append, with one writer and with several concurrent ones (whose appends
// Concord's store may commit together, one sync for many).
import { alternate, type Figure, type Section } from "./Measure.js"
import * as Stores from "./Stores.js"
import { concordAppend, trial } from "./Uncontended.js"

export interface SqliteFullSize {
  /** The concurrent writers (fibers for Concord), one cell each. */
  readonly writers: ReadonlyArray<number>
  /** Streams the writers share out, so that nothing conflicts. */
  readonly streams: number
  /** Single-event appends per trial. */
  readonly events: number
  readonly trials: number
}

export type Contender = "Concord layerSqlite" | "raw better-sqlite3"

/** The name of a row: a contender's single-event appends per second with `writers` writers. */
export const rowName = (writers: number, contender: Contender) =>
  `SQLite synchronous = FULL, ${writers} writer(s), batch 1: ${contender}`

export const run = async (size: SqliteFullSize): Promise<Section> => {
  const rows: Array<Figure> = []
  for (const writers of size.writers) {
    const measure = (open: Parameters<typeof trial>[4]) => trial(size.events, 1, size.streams, writers, open)
    // The raw driver first, so that rows list Concord first after the reversal; one uncounted trial each, as the
    // concurrent writers run code the single writer did not.
    const figures = await alternate(
      size.trials,
      [
        {
          name: rowName(writers, "raw better-sqlite3"),
          trial: measure(async () => Stores.rawSqlite(Stores.freshFile(), "full"))
        },
        {
          name: rowName(writers, "Concord layerSqlite"),
          trial: measure(async () => concordAppend(await Stores.concordSqlite(Stores.freshFile(), "full")))
        }
      ],
      "events/s",
      { warmUp: true }
    )
    rows.push(...[...figures].reverse())
  }
  return {
    id: "sqlite-full",
    title: "SQLite appends at synchronous = FULL",
    unit: "events/s",
    rows,
    notes: `Single-event appends, each naming its expected version, spread over ${size.streams} streams shared out ` +
      `among ${size.writers.join(" or ")} concurrent writers, so nothing conflicts: Concord's SQLite store with ` +
      `\`synchronous: "full"\` (every commit syncs the write-ahead log: an acknowledged append survives a power ` +
      `loss), against raw better-sqlite3 at \`synchronous = FULL\` committing one transaction per append (its calls ` +
      `are synchronous, so its writers take turns and its rate is the one-transaction-per-append rate). Each ` +
      `round runs both once on a fresh file, the order turning around every round; ${size.trials} rounds after one ` +
      `uncounted trial each, ${size.events.toLocaleString("en-US")} appends per trial. The figures depend on how ` +
      `fast this machine's disk syncs.`
  }
}
