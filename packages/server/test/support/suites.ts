// The suites of @concord/server that need PostgreSQL, by name: each is declared with describe.skipIf under this
// name, and the shared global setup (packages/sql/test/support/postgres.ts) lists them when it finds no PostgreSQL.
export const postgresSuites = {
  twoServers: "two service processes over one PostgreSQL database",
  twoServersReadSide: "the global log of two service processes over one PostgreSQL database",
  frozenDatabaseShutdown: "SIGTERM while the service's PostgreSQL database does not answer"
} as const
