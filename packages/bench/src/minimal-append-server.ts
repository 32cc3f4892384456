// Child process of the appends-over-HTTP section: the least an append server over Concord's SQLite tables does, as a
// baseline. `node:http` and better-sqlite3, nothing else: `POST /streams/{id}/events` parses the JSON body
// (`{"expectedVersion": N, "events": [{"type", "data", "id"?, "metadata"?}]}`) and, in one `BEGIN IMMEDIATE`
// transaction, moves the stream row from the expected version (the guarded write of Concord's common append) and
// inserts the events' rows as Concord stores them: 200 with the versions as the service answers them, 409 when the
// stream is elsewhere, 422 for an event id already stored. WAL mode, `synchronous` as the second argument says (full:
// a sync of the log at every commit; normal: none). Prints the address it listens on, as `concord serve` does.
import Database from "better-sqlite3"
import * as crypto from "node:crypto"
import * as http from "node:http"

const [file, synchronous, prefix = "concord_"] = process.argv.slice(2)
if (file === undefined || (synchronous !== "full" && synchronous !== "normal")) {
  throw new Error("usage: minimal-append-server.ts FILE full|normal [TABLE_PREFIX]")
}

const database = new Database(file)
database.pragma("journal_mode = WAL")
database.pragma(`synchronous = ${synchronous}`)
const create = database.prepare(
  `INSERT INTO ${prefix}streams (stream_id, version) VALUES (?, ?)
   ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version WHERE ${prefix}streams.version = 0
   RETURNING version`
)
const advance = database.prepare(
  `UPDATE ${prefix}streams SET version = ? WHERE stream_id = ? AND version = ? RETURNING version`
)
const insert = database.prepare(
  `INSERT INTO ${prefix}events (stream_id, version, event_id, type, data, metadata, recorded_at, batch_first,
   batch_last, rebased_over) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0)`
)

interface EventData {
  readonly id?: string
  readonly type: string
  readonly data: unknown
  readonly metadata?: unknown
}

/** The append's transaction; undefined when the stream is not at `expected`, and nothing is written. */
const append = database.transaction((stream: string, expected: number, events: ReadonlyArray<EventData>) => {
  const first = expected + 1
  const last = expected + events.length
  const moved = expected === 0 ? create.get(stream, last) : advance.get(last, stream, expected)
  if (moved === undefined) return undefined
  const recordedAt = new Date().toISOString()
  events.forEach((event, i) =>
    insert.run(
      stream,
      first + i,
      event.id ?? crypto.randomUUID(),
      event.type,
      JSON.stringify(event.data),
      JSON.stringify(event.metadata ?? {}),
      recordedAt,
      first,
      last
    )
  )
  return { streamId: stream, firstVersion: first, lastVersion: last, rebasedOver: 0 }
})

const answer = (response: http.ServerResponse, status: number, body: unknown) => {
  const text = JSON.stringify(body)
  response.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) })
  response.end(text)
}

const server = http.createServer((request, response) => {
  const match = /^\/streams\/([^/?]+)\/events$/.exec(request.url ?? "")
  if (request.method !== "POST" || match === null) return answer(response, 404, { message: "not found" })
  const chunks: Array<Buffer> = []
  request.on("data", (chunk: Buffer) => chunks.push(chunk))
  request.on("end", () => {
    try {
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8"))
      const expected = body.expectedVersion === "noStream" ? 0 : body.expectedVersion
      const events = body.events
      if (!Number.isInteger(expected) || expected < 0 || !Array.isArray(events) || events.length === 0) {
        return answer(response, 400, { message: "expectedVersion and at least one event, please" })
      }
      const result = append.immediate(decodeURIComponent(match[1]!), expected, events)
      if (result === undefined) return answer(response, 409, { message: "the stream is not at the expected version" })
      answer(response, 200, result)
    } catch (error) {
      const unique = error instanceof Database.SqliteError && error.code === "SQLITE_CONSTRAINT_UNIQUE"
      answer(response, unique ? 422 : error instanceof SyntaxError ? 400 : 500, { message: String(error) })
    }
  })
})

server.listen(0, "127.0.0.1", () => {
  const address = server.address() as { port: number }
  console.log(`minimal append server listening on http://127.0.0.1:${address.port}`)
})
process.on("SIGTERM", () => process.exit(0))
