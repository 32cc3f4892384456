// Child process of the observability section: an OTLP/HTTP receiver that accepts everything, as a collector that
// keeps up would. `node:http`, nothing else: every POST's body is read to its end and answered 200 (an empty JSON
// object to a JSON export, an empty body to a protobuf one: an export response with nothing rejected); the bodies are
// not parsed, so the sink costs the machine little next to the service it listens to. `GET /counts` answers what
// arrived so far, per path: how many POSTs and how many bytes, so that the bench can tell a run that exported nothing.
// Prints the address it listens on, as `concord serve` does.
import * as http from "node:http"

const counts: Record<string, { posts: number; bytes: number }> = {}

const server = http.createServer((request, response) => {
  const path = (request.url ?? "/").split("?")[0]!
  if (request.method === "GET" && path === "/counts") {
    const body = JSON.stringify(counts)
    response.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) })
    return response.end(body)
  }
  if (request.method !== "POST") {
    response.writeHead(405)
    return response.end()
  }
  let bytes = 0
  request.on("data", (chunk: Buffer) => (bytes += chunk.length))
  request.on("end", () => {
    const count = (counts[path] ??= { posts: 0, bytes: 0 })
    count.posts++
    count.bytes += bytes
    const json = (request.headers["content-type"] ?? "").includes("json")
    const body = json ? "{}" : ""
    response.writeHead(200, {
      "content-type": json ? "application/json" : "application/x-protobuf",
      "content-length": Buffer.byteLength(body)
    })
    response.end(body)
  })
})

server.listen(0, "127.0.0.1", () => {
  const address = server.address() as { port: number }
  console.log(`otlp sink listening on http://127.0.0.1:${address.port}`)
})
process.on("SIGTERM", () => process.exit(0))
