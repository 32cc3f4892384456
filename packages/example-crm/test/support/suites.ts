// The suites of @concord/example-crm that need PostgreSQL, by name: each is declared with describe.skipIf under this
// name, and the shared global setup (../sql/test/support/postgres.ts) lists them when it finds no PostgreSQL.
export const postgresSuites = {
  readModel: "the read model on PostgreSQL"
} as const
