/**
 * The event store, its consumers' checkpoints and the `SqlClient` they share, on one database: what `ReadModel.run`
 * needs, so that the read model's writes join the checkpoints' transactions. The store is the one `concord serve`
 * keeps (same tables, same default prefix), so a read model can run beside the service on its database.
 *
 * @since 0.1.0
 */
import type { Checkpoints } from "@concord/core"
import { EventStore } from "@concord/core"
import { SqlCheckpoints, SqlEventStore } from "@concord/sql"
import { SqliteEventStore } from "@concord/sql/sqlite"
import * as PgClient from "@effect/sql-pg/PgClient"
import type * as SqlClient from "@effect/sql/SqlClient"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"

/**
 * What the layers here provide.
 *
 * @since 0.1.0
 * @category models
 */
export type Services = EventStore.EventStore | Checkpoints.Checkpoints | SqlClient.SqlClient

const overClient = <E>(
  client: Layer.Layer<SqlClient.SqlClient, E>
): Layer.Layer<Services, E | EventStore.StoreError> =>
  Layer.mergeAll(SqlEventStore.layer(), SqlCheckpoints.layer()).pipe(Layer.provideMerge(client))

/**
 * On a SQLite file (`:memory:` for a database of this process only), opened as `SqliteEventStore.layer` opens it.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerSqlite = (filename: string): Layer.Layer<Services, EventStore.StoreError> =>
  overClient(SqliteEventStore.layerClient({ filename }))

/**
 * On PostgreSQL. The store here does not listen for other processes' commits (`PgEventStore.layer` does, but keeps
 * its client to itself): the consumer finds them by looking every 100 ms.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerPostgres = (url: string): Layer.Layer<Services, EventStore.StoreError> =>
  overClient(
    PgClient.layer({ url: Redacted.make(url), maxConnections: 4 }).pipe(
      Layer.mapError((cause) => new EventStore.StoreError({ operation: "connect to PostgreSQL", cause }))
    )
  )
