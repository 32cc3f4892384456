import type { Checkpoints } from "@concord/core"
import { EventStore } from "@concord/core"
import { Registry } from "@concord/example-crm"
import { PgEventStore } from "@concord/sql/pg"
import { SqliteEventStore } from "@concord/sql/sqlite"
import { Config, Effect, Layer, Option } from "effect"

// #region memory
// In the process's memory: for tests, and for programs whose events may be lost when the process ends.
export const memory = EventStore.layerMemory({ registry: Registry.registry })
// #endregion memory

// #region sqlite
// A SQLite file: one machine; several processes may share the file.
export const sqlite = (filename: string) => SqliteEventStore.layer({ filename, registry: Registry.registry })
// #endregion sqlite

// #region postgres
// PostgreSQL: any number of processes on any number of machines.
export const postgres = (url: string) =>
  PgEventStore.layer({
    url,
    registry: Registry.registry,
    tablePrefix: "crm_", // tables crm_events, crm_streams, crm_checkpoints and crm_migrations
    maxConnections: 10,
    lockTimeoutMillis: 5_000 // how long an append waits for another writer of its stream
  })
// #endregion postgres

// #region choose
// One program, the store picked from the environment: PostgreSQL when DATABASE_URL is set, else a SQLite file.
export const fromEnvironment = Layer.unwrapEffect(
  Effect.gen(function*() {
    const url = yield* Config.option(Config.string("DATABASE_URL"))
    const file = yield* Config.string("EVENTS_FILE").pipe(Config.withDefault(".concord/events.db"))
    return Option.isSome(url) ? postgres(url.value) : sqlite(file)
  })
)
// #endregion choose

// What the SQL stores' Layers provide: the store and, for `Consumer.run`, the consumers' checkpoints in the same
// database.
export type SqlStoreServices = EventStore.EventStore | Checkpoints.Checkpoints
