// #region sqlite
import { SqliteEventStore } from "@concord/sql/sqlite"
import { Effect } from "effect"
import { type main, program } from "./quick-start.js"

// The same program on a SQLite file: only the Layer changes.
export const onSqlite = (filename: string): typeof main =>
  program.pipe(Effect.provide(SqliteEventStore.layer({ filename })))
// #endregion sqlite
