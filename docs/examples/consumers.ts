import { type Checkpoints, Consumer, type EventStore } from "@concord/core"
import { SqlCheckpoints, SqlEventStore } from "@concord/sql"
import { SqliteEventStore } from "@concord/sql/sqlite"
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect, Layer } from "effect"

// #region consumer
// Every invoice event, in log order, at least once: after a restart it resumes after its checkpoint.
export const invoiceLog = (
  lines: Array<string>
): Effect.Effect<never, Consumer.RunError, EventStore.EventStore | Checkpoints.Checkpoints> =>
  Consumer.run({
    name: "invoice-log",
    filter: { categories: ["invoice"] },
    handle: (event) => Effect.sync(() => lines.push(`${event.streamId} ${event.type}`))
  })
// #endregion consumer

// #region projection
// A read model in the store's own database: each client's current value. With `transactional`, the handler's writes
// and the checkpoint commit together, so each event counts exactly once, whatever crashes.
export const clientValues: Effect.Effect<
  never,
  Consumer.RunError,
  EventStore.EventStore | Checkpoints.Checkpoints | SqlClient.SqlClient
> = Consumer.run({
  name: "client-values",
  filter: { types: ["ClientRegistered", "ClientValueUpgraded"] },
  transactional: true,
  handle: (event) =>
    Effect.flatMap(SqlClient.SqlClient, (sql) => {
      const { value } = event.data as { readonly value: number }
      return sql`INSERT INTO client_values (stream_id, value) VALUES (${event.streamId}, ${value})
        ON CONFLICT (stream_id) DO UPDATE SET value = excluded.value`
    })
})

// The store, the checkpoints and the SqlClient the projection writes through, all on one SQLite file.
export const crmDatabase = (
  filename: string
): Layer.Layer<
  EventStore.EventStore | Checkpoints.Checkpoints | SqlClient.SqlClient,
  EventStore.StoreError
> =>
  Layer.mergeAll(SqlEventStore.layer({}), SqlCheckpoints.layer()).pipe(
    Layer.provideMerge(SqliteEventStore.layerClient({ filename }))
  )
// #endregion projection
