// Child process of the HTTP reads section: the least a read server over Concord's SQLite table does, as a baseline.
// `node:http` and better-sqlite3, nothing else: `GET /streams/{id}/events?from&limit` SELECTs the rows and writes a
// page of them as the JSON Concord's service writes (`{"events": [...]}`, each event's fields in the same order, data
// and metadata parsed from their stored text, the position as a string), in one `end`. Prints the address it listens
// on, as `concord serve` does.
import Database from "better-sqlite3"
import * as http from "node:http"

const [file, tablePrefix = "concord_"] = process.argv.slice(2)
if (file === undefined) throw new Error("usage: minimal-read-server.ts FILE [TABLE_PREFIX]")

const database = new Database(file, { readonly: true })
const select = database.prepare(
  `SELECT event_id, stream_id, version, type, data, metadata, recorded_at, position FROM ${tablePrefix}events
   WHERE stream_id = ? AND version >= ? ORDER BY version LIMIT ?`
)

interface Row {
  readonly event_id: string
  readonly stream_id: string
  readonly version: number
  readonly type: string
  readonly data: string
  readonly metadata: string
  readonly recorded_at: string
  readonly position: number
}

const answer = (response: http.ServerResponse, status: number, body: string) => {
  response.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) })
  response.end(body)
}

const server = http.createServer((request, response) => {
  const url = new URL(request.url ?? "/", "http://localhost")
  const match = /^\/streams\/([^/]+)\/events$/.exec(url.pathname)
  if (request.method !== "GET" || match === null) return answer(response, 404, `{"message":"not found"}`)
  const from = Number(url.searchParams.get("from") ?? 1)
  const limit = Number(url.searchParams.get("limit") ?? 10_000)
  const rows = select.all(decodeURIComponent(match[1]!), from, limit) as Array<Row>
  answer(
    response,
    200,
    JSON.stringify({
      events: rows.map((row) => ({
        id: row.event_id,
        streamId: row.stream_id,
        version: row.version,
        type: row.type,
        data: JSON.parse(row.data),
        metadata: JSON.parse(row.metadata),
        recordedAt: row.recorded_at,
        position: String(row.position)
      }))
    })
  )
})

server.listen(0, "127.0.0.1", () => {
  const address = server.address() as { port: number }
  console.log(`minimal read server listening on http://127.0.0.1:${address.port}`)
})
process.on("SIGTERM", () => process.exit(0))
