/**
 * Emmett's SQLite event store for the benchmark. It lives in a package of its own because
 * `@event-driven-io/emmett-sqlite` 0.38.5 needs `@event-driven-io/emmett` 0.38.5 while the bench uses 0.42 for the
 * in-memory and PostgreSQL stores: npm keeps two versions of one package only when different packages ask for them.
 */
import { getSQLiteEventStore } from "@event-driven-io/emmett-sqlite"

/** The bench's view of a store: appends with an expected version, and closing. */
export interface Appender {
  readonly append: (
    stream: string,
    expected: number,
    events: ReadonlyArray<{ readonly type: string; readonly data: Record<string, unknown> }>
  ) => Promise<unknown>
  readonly close: () => void
}

/**
 * Emmett's SQLite store on `fileName`, its schema created before this returns so that no measurement pays for it.
 * Emmett opens and closes its connection around every call on a file: that is its design, and part of what is
 * measured.
 */
export const open = async (fileName: string): Promise<Appender> => {
  const store = getSQLiteEventStore({ fileName, schema: { autoMigration: "CreateOrUpdate" } })
  await store.appendToStream("warm-up", [{ type: "WarmedUp", data: {} }])
  return {
    append: (stream, expected, events) =>
      store.appendToStream(stream, events.map((event) => ({ type: event.type, data: { ...event.data } })), {
        expectedStreamVersion: BigInt(expected)
      }),
    close: () => {}
  }
}
