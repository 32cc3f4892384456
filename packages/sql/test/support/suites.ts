// The suites of @concord/sql that need PostgreSQL, by name: each is declared with describe.skipIf under this name,
// and the global setup (./postgres.ts) lists them when it finds no PostgreSQL, so a local run says what it skipped.
export const postgresSuites = {
  eventStoreSuite: "EventStoreSuite on PostgreSQL",
  failures: "PostgreSQL failures",
  multiProcess: "many OS processes on one PostgreSQL database",
  crash: "a writer killed with SIGKILL on PostgreSQL",
  fastPath: "the fast path on PostgreSQL",
  readProcesses: "the read side in many OS processes on one PostgreSQL database",
  readSide: "the read side on PostgreSQL",
  watcher: "PostgreSQL subscribers waiting for other connections' commits",
  upgrade: "upgrading a PostgreSQL database of the previous release",
  consumers: "consumers and their checkpoints on PostgreSQL",
  consumerProcesses: "consumers in many OS processes on one PostgreSQL database",
  deadlines: "deadlines on a PostgreSQL server that hangs, is cut off, holds a lock or restarts",
  groupCommit: "group commit on PostgreSQL",
  groupCommitDeadlines: "group commit on a PostgreSQL server that hangs",
  groupCommitProcesses: "group commit in many OS processes on one PostgreSQL database",
  storeMetrics: "store metrics on PostgreSQL"
} as const
