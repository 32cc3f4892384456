// What the benchmark uses of Emmett 0.42, resolved from this directory's own node_modules.
export {
  CommandHandler,
  getInMemoryEventStore,
  isExpectedVersionConflictError,
  STREAM_DOES_NOT_EXIST
} from "@event-driven-io/emmett"
export { getPostgreSQLEventStore } from "@event-driven-io/emmett-postgresql"
