/**
 * The SQLite store's own layer, over the client of `SqliteEventStore.layerClient`: the SQL store with its writer's
 * connection (group commit) open for as long as it lives.
 *
 * @internal
 */
import { EventStore } from "@concord/core"
import type * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as SqlEventStore from "../SqlEventStore.js"
import type * as SqliteEventStore from "../SqliteEventStore.js"
import * as internalOptions from "./options.js"
import * as SqliteWriter from "./sqliteWriter.js"
import * as SqlStore from "./sqlStore.js"

/** @internal */
export const layer = (
  options: SqliteEventStore.Options
): Layer.Layer<EventStore.EventStore, EventStore.StoreError, SqlClient.SqlClient> =>
  Layer.scoped(
    EventStore.EventStore,
    Effect.gen(function*() {
      const busyTimeout = options.busyTimeoutMillis ?? 10_000
      const storeOptions: SqlEventStore.Options = {
        ...options,
        appendTimeoutMillis: options.appendTimeoutMillis ?? internalOptions.defaultAppendTimeout(busyTimeout)
      }
      // The client opened the file first (in WAL mode), with the same options, checked there.
      const sqliteWriter = SqliteWriter.isPrivate(options.filename)
        ? undefined
        : yield* SqliteWriter.open({ filename: options.filename, busyTimeout, synchronous: options.synchronous })
      return yield* SqlStore.make(storeOptions, { sqliteWriter })
    })
  )
