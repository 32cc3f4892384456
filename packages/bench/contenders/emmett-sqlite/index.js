// What the benchmark uses of Emmett's SQLite store 0.38.5, resolved from this directory's own node_modules.
export { getSQLiteEventStore } from "@event-driven-io/emmett-sqlite"
