/**
 * The CRM's read model: each client's summary (`ClientSummary`) in the table `crm_client_summaries` of the event
 * store's own database, kept by a transactional `Consumer`, so that the table commits with the consumer's checkpoint
 * or not at all and each event counts exactly once, whatever crashes.
 *
 * Everything here runs through the `SqlClient` in context, on SQLite or PostgreSQL alike. It must be the client the
 * checkpoints use: `Database.layerSqlite` and `Database.layerPostgres` provide the store, its checkpoints and that
 * client together.
 *
 * @since 0.1.0
 */
import { type Checkpoints, Consumer, Event, type EventStore } from "@concord/core"
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as SqlSchema from "@effect/sql/SqlSchema"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { ParseError } from "effect/ParseResult"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import * as ClientSummary from "./ClientSummary.js"
import * as Events from "./Events.js"

/**
 * The table the summaries are kept in.
 *
 * @since 0.1.0
 * @category tables
 */
export const table = "crm_client_summaries"

/**
 * Creates the table if it is not there yet; {@link run} does it before it starts the consumer. Written for SQLite and
 * PostgreSQL alike (`BIGINT` is a 64-bit integer on both).
 *
 * @since 0.1.0
 * @category tables
 */
export const migrate: Effect.Effect<void, SqlError, SqlClient.SqlClient> = Effect.flatMap(
  SqlClient.SqlClient,
  (sql) =>
    sql`CREATE TABLE IF NOT EXISTS ${sql(table)} (
      stream_id TEXT PRIMARY KEY,
      name TEXT NOT NULL,
      expected_value BIGINT NOT NULL,
      meeting_notes BIGINT NOT NULL,
      status TEXT NOT NULL,
      version BIGINT NOT NULL
    )`
)

const columns = (summary: ClientSummary.ClientSummary) => ({
  stream_id: summary.streamId,
  name: summary.name,
  expected_value: summary.expectedValue,
  meeting_notes: summary.meetingNotes,
  status: summary.status,
  version: summary.version
})

// #region projection
// What an event changes in a row that exists. `excluded` is the row the event alone would make (what the insert
// proposed), so the columns the event sets come from there; the note count is a counter on the existing row.
const changes = (event: Events.CrmEvent): ReadonlyArray<string> => {
  switch (event._tag) {
    case "ClientRegistered":
      return ["name = excluded.name", "expected_value = excluded.expected_value", "status = excluded.status"]
    case "ClientValueUpgraded":
    case "ClientValueDowngraded":
      return ["expected_value = excluded.expected_value"]
    case "MeetingNoteAdded":
      return [`meeting_notes = ${table}.meeting_notes + 1`]
    case "ContactEmailChanged":
      return []
    case "ClientArchived":
      return ["status = excluded.status"]
  }
}

const decodeEvent = Event.decode(Events.CrmEvent)

/**
 * Projects one recorded client event into the table: one upsert. The note count is a counter, so projecting an
 * event twice would count its note twice; the transactional consumer ({@link consumer}) never hands the handler an
 * event whose writes have committed. An event whose data is not a `CrmEvent` fails with the `ParseError`.
 *
 * @since 0.1.0
 * @category projection
 */
export const project = (
  event: Event.RecordedEvent
): Effect.Effect<void, ParseError | SqlError, SqlClient.SqlClient> =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const crmEvent = yield* decodeEvent(event)
    const fresh = ClientSummary.evolve(ClientSummary.initial(event.streamId), crmEvent, event.version)
    const set = [...changes(crmEvent), "version = excluded.version"].join(", ")
    yield* sql`INSERT INTO ${sql(table)} ${sql.insert(columns(fresh))}
      ON CONFLICT (stream_id) DO UPDATE SET ${sql.literal(set)}`
  })
// #endregion projection

/**
 * The consumer that keeps the table: every event of the `client` category that is a `CrmEvent`, projected in
 * transactions of up to 100 events (as many as have been read, never waiting for more) that also save its
 * checkpoint. Its lease lasts 10 seconds, so that when the process keeping the table dies, another one running the
 * read model on the same database takes over within about that long.
 *
 * @since 0.1.0
 * @category projection
 */
// #region consumer
export const consumer: Consumer.Options<ParseError | SqlError, SqlClient.SqlClient> = {
  name: "crm-client-summaries",
  filter: { categories: ["client"], types: Event.tags(Events.CrmEvent) },
  transactional: true,
  checkpointEvery: { events: 100 },
  lease: "10 seconds",
  handle: project
}
// #endregion consumer

/**
 * Creates the table, then runs the {@link consumer} until interrupted (it never succeeds). The `SqlClient` must be the
 * one the `Checkpoints` use, so that the projection joins their transactions.
 *
 * @since 0.1.0
 * @category projection
 */
export const run: Effect.Effect<
  never,
  Consumer.RunError | SqlError,
  EventStore.EventStore | Checkpoints.Checkpoints | SqlClient.SqlClient
> = Effect.zipRight(migrate, Consumer.run(consumer))

// PostgreSQL hands BIGINT columns back as strings.
const Integer = Schema.Union(Schema.NonNegativeInt, Schema.compose(Schema.NumberFromString, Schema.NonNegativeInt))

const Row = Schema.Struct({
  streamId: Schema.propertySignature(Schema.String).pipe(Schema.fromKey("stream_id")),
  name: Schema.String,
  expectedValue: Schema.propertySignature(Integer).pipe(Schema.fromKey("expected_value")),
  meetingNotes: Schema.propertySignature(Integer).pipe(Schema.fromKey("meeting_notes")),
  status: ClientSummary.Status,
  version: Integer
})

/**
 * Every client's summary, by stream id.
 *
 * @since 0.1.0
 * @category queries
 */
export const list: Effect.Effect<
  ReadonlyArray<ClientSummary.ClientSummary>,
  SqlError | ParseError,
  SqlClient.SqlClient
> = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  SqlSchema.findAll({
    Request: Schema.Void,
    Result: Row,
    execute: () => sql`SELECT * FROM ${sql(table)} ORDER BY stream_id`
  })(undefined))

/**
 * One client's summary; `None` when the read model has seen no event of the stream.
 *
 * @since 0.1.0
 * @category queries
 */
export const get = (
  streamId: string
): Effect.Effect<Option.Option<ClientSummary.ClientSummary>, SqlError | ParseError, SqlClient.SqlClient> =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    SqlSchema.findOne({
      Request: Schema.String,
      Result: Row,
      execute: (id) => sql`SELECT * FROM ${sql(table)} WHERE stream_id = ${id}`
    })(streamId))

/**
 * A read model that had not reached a stream's version when the wait for it ended.
 *
 * @since 0.1.0
 * @category errors
 */
export class ReadModelBehind extends Schema.TaggedError<ReadModelBehind>()("ReadModelBehind", {
  streamId: Schema.String,
  version: Schema.Number,
  /** The version the read model showed last (0 when it had no summary of the stream). */
  seen: Schema.Number,
  timeoutMillis: Schema.Number
}) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `the read model did not reach version ${this.version} of ${this.streamId} within ` +
      `${this.timeoutMillis} ms (it showed version ${this.seen})`
  }
}

/**
 * Asks `lookup` for a stream's summary every `interval` (default 20 ms) until it reflects `version` (a save's last
 * version) and returns it, or fails with `ReadModelBehind` after `timeout` (default 10 seconds). `lookup` is {@link get}
 * for a read model in this process's database, or a request to a read model's HTTP API.
 *
 * @since 0.1.0
 * @category queries
 */
export const waitFor = <E, R>(
  lookup: (streamId: string) => Effect.Effect<Option.Option<ClientSummary.ClientSummary>, E, R>,
  streamId: string,
  version: number,
  options?: {
    readonly timeout?: Duration.DurationInput | undefined
    readonly interval?: Duration.DurationInput | undefined
  }
): Effect.Effect<ClientSummary.ClientSummary, E | ReadModelBehind, R> =>
  Effect.gen(function*() {
    const timeout = Duration.decode(options?.timeout ?? Duration.seconds(10))
    const interval = options?.interval ?? Duration.millis(20)
    const seen = yield* Ref.make(0)
    const attempt = (): Effect.Effect<ClientSummary.ClientSummary, E, R> =>
      Effect.flatMap(lookup(streamId), (found) =>
        Option.isSome(found) && found.value.version >= version
          ? Effect.succeed(found.value)
          : Ref.set(seen, Option.match(found, { onNone: () => 0, onSome: (summary) => summary.version })).pipe(
            Effect.zipRight(Effect.sleep(interval)),
            Effect.zipRight(Effect.suspend(attempt))
          ))
    return yield* Effect.timeout(attempt(), timeout).pipe(
      Effect.catchTag("TimeoutException", () =>
        Effect.flatMap(Ref.get(seen), (last) =>
          new ReadModelBehind({ streamId, version, seen: last, timeoutMillis: Duration.toMillis(timeout) })))
    )
  })
