// Child process of the appends-over-HTTP section: the least an append server over Concord's PostgreSQL tables does, as
// a baseline. `node:http` and `pg` with a pool of 10 connections (Concord's default), nothing else: `POST
// /streams/{id}/events` parses the JSON body (`{"expectedVersion": N, "events": [{"type", "data", "id"?,
// "metadata"?}]}`) and, in one transaction (`BEGIN`, the guarded move of the stream row from the expected version, the
// events' insert, `COMMIT`: four round trips over named prepared statements), writes the rows as Concord stores them:
// 200 with the versions as the service answers them, 409 when the stream is elsewhere, 422 for an event id already
// stored. Prints the address it listens on, as `concord serve` does.
import * as crypto from "node:crypto"
import * as http from "node:http"
import pg from "pg"

const [url, prefix = "concord_"] = process.argv.slice(2)
if (url === undefined) throw new Error("usage: minimal-pg-append-server.ts URL [TABLE_PREFIX]")

const pool = new pg.Pool({ connectionString: url, max: 10 })
const create = `INSERT INTO ${prefix}streams (stream_id, version, tx_id) VALUES ($1, $2, pg_current_xact_id())
  ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version, tx_id = excluded.tx_id
  WHERE ${prefix}streams.version = 0 RETURNING version`
const advance = `UPDATE ${prefix}streams SET version = $1, tx_id = pg_current_xact_id()
  WHERE stream_id = $2 AND version = $3 RETURNING version`
/** The insert of `count` events, each row's ten columns as parameters. */
const insert = (count: number) =>
  `INSERT INTO ${prefix}events (stream_id, version, event_id, type, data, metadata, recorded_at, batch_first,
   batch_last, rebased_over) VALUES ${
    Array.from({ length: count }, (_, i) => `(${Array.from({ length: 10 }, (_, c) => `$${i * 10 + c + 1}`)})`)
  }`

interface EventData {
  readonly id?: string
  readonly type: string
  readonly data: unknown
  readonly metadata?: unknown
}

/** The append's transaction; undefined when the stream is not at `expected`, and nothing is written. */
const append = async (stream: string, expected: number, events: ReadonlyArray<EventData>) => {
  const first = expected + 1
  const last = expected + events.length
  const client = await pool.connect()
  try {
    await client.query("BEGIN")
    const moved = expected === 0
      ? await client.query({ name: "create", text: create, values: [stream, last] })
      : await client.query({ name: "advance", text: advance, values: [last, stream, expected] })
    if (moved.rowCount === 0) {
      await client.query("ROLLBACK")
      return undefined
    }
    const recordedAt = new Date().toISOString()
    await client.query({
      name: `insert-${events.length}`,
      text: insert(events.length),
      values: events.flatMap((event, i) => [
        stream,
        first + i,
        event.id ?? crypto.randomUUID(),
        event.type,
        JSON.stringify(event.data),
        JSON.stringify(event.metadata ?? {}),
        recordedAt,
        first,
        last,
        0
      ])
    })
    await client.query("COMMIT")
    return { streamId: stream, firstVersion: first, lastVersion: last, rebasedOver: 0 }
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {})
    throw error
  } finally {
    client.release()
  }
}

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
  request.on("end", async () => {
    try {
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8"))
      const expected = body.expectedVersion === "noStream" ? 0 : body.expectedVersion
      const events = body.events
      if (!Number.isInteger(expected) || expected < 0 || !Array.isArray(events) || events.length === 0) {
        return answer(response, 400, { message: "expectedVersion and at least one event, please" })
      }
      const result = await append(decodeURIComponent(match[1]!), expected, events)
      if (result === undefined) return answer(response, 409, { message: "the stream is not at the expected version" })
      answer(response, 200, result)
    } catch (error) {
      const unique = (error as { code?: unknown }).code === "23505"
      answer(response, unique ? 422 : error instanceof SyntaxError ? 400 : 500, { message: String(error) })
    }
  })
})

server.listen(0, "127.0.0.1", () => {
  const address = server.address() as { port: number }
  console.log(`minimal pg append server listening on http://127.0.0.1:${address.port}`)
})
process.on("SIGTERM", () => process.exit(0))
