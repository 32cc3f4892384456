// Subscriptions end with the service: a reader gets the end of its stream, one that stopped reading is cut off after a
// short grace, and neither holds the shutdown; `concord serve` on SIGTERM ends them and exits.
import { EventStore } from "@concord/core"
import { Server } from "@concord/server"
import { HttpServer } from "@effect/platform"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Exit, Layer, Scope } from "effect"
import * as fs from "node:fs"
import * as http from "node:http"
import * as os from "node:os"
import * as path from "node:path"
import { appendAny } from "./support/http.js"
import { startServer } from "./support/server.js"
import { parseBlocks } from "./support/sse.js"

/** A subscription read to its end over fetch: how many events it got and whether it ended cleanly. */
const readToEnd = (url: string) => {
  let events = 0
  let firstEvent!: () => void
  const started = new Promise<void>((resolve) => (firstEvent = resolve))
  const ended = (async () => {
    const response = await fetch(`${url}/events/subscribe`)
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader()
    let rest = ""
    try {
      for (;;) {
        const { done, value } = await reader.read()
        if (done) return { clean: true, events }
        const parsed = parseBlocks(rest + value)
        rest = parsed.rest
        events += parsed.messages.filter((m) => m.data !== undefined).length
        if (events > 0) firstEvent()
      }
    } catch (error) {
      return { clean: false, events, error: String(error) }
    }
  })()
  return { started, ended }
}

/** A subscription whose reader never reads: the service's writes to it stop once the socket's buffers are full. */
const neverRead = (url: string) =>
  new Promise<http.ClientRequest>((resolve, reject) => {
    const request = http.get(`${url}/events/subscribe?never-reads`, { agent: false }, (response) => {
      response.pause()
      resolve(request)
    })
    request.on("error", reject)
  })

describe("subscriptions and shutting down", () => {
  it.live(
    "releasing the app ends a reader's subscription and cuts one that stopped reading, within seconds",
    () =>
      Effect.gen(function*() {
        const scope = yield* Scope.make()
        // The service's side of each subscription, to see how it ended.
        const responses = new Map<string, http.ServerResponse>()
        const server = http.createServer()
        server.on("request", (request, response) => {
          if (request.url?.startsWith("/events/subscribe")) {
            responses.set(request.url.includes("never-reads") ? "stuck" : "reader", response)
          }
        })
        const context = yield* Layer.buildWithScope(
          Server.layerApp({ keepAliveInterval: "100 millis" }).pipe(
            Layer.provideMerge(NodeHttpServer.layer(() => server, { port: 0, host: "127.0.0.1" })),
            Layer.provide(EventStore.layerMemory())
          ),
          scope
        )
        const address = Context.get(context, HttpServer.HttpServer).address
        const url = address._tag === "TcpAddress" ? `http://127.0.0.1:${address.port}` : ""
        const stuck = yield* Effect.promise(() => neverRead(url))
        const reader = readToEnd(url)
        // About 16 MB of events, more than the stuck reader's socket buffers hold.
        const big = "x".repeat(900 * 1024)
        yield* Effect.promise(async () => {
          for (let i = 0; i < 18; i++) await appendAny(url, `big-${i % 3}`, [{ type: "Big", data: { big } }])
        })
        yield* Effect.promise(() => reader.started)
        const stopping = Date.now()
        yield* Scope.close(scope, Exit.void)
        const took = Date.now() - stopping
        // The grace given to readers is 2 seconds; without the cut, the server would wait for the stuck one forever.
        expect(took).toBeLessThan(6_000)
        const outcome = yield* Effect.promise(() => reader.ended)
        expect(outcome).toMatchObject({ clean: true })
        expect(outcome.events).toBeGreaterThan(0)
        // The reader's response ended; the stuck one, whose end could not be written, was cut.
        expect(responses.get("reader")!.writableFinished).toBe(true)
        expect(responses.get("stuck")!.writableFinished).toBe(false)
        expect(responses.get("stuck")!.destroyed).toBe(true)
        stuck.destroy()
      }),
    60_000
  )

  it("concord serve on SIGTERM ends its subscriptions, cuts one that stopped reading, and exits", async () => {
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), "concord-subscription-shutdown-"))
    const server = await startServer(["--db", path.join(directory, "shutdown.db")])
    try {
      const stuck = await neverRead(server.url)
      const readers = [readToEnd(server.url), readToEnd(server.url)]
      const big = "x".repeat(900 * 1024)
      for (let i = 0; i < 18; i++) await appendAny(server.url, "shutdown-1", [{ type: "Big", data: { big } }])
      await Promise.all(readers.map((reader) => reader.started))
      const stopping = Date.now()
      expect(await server.stop("SIGTERM")).toBe(0)
      // Without the cut, the stuck subscription would hold the service for the drain's 30 seconds.
      expect(Date.now() - stopping).toBeLessThan(15_000)
      for (const reader of readers) expect(await reader.ended).toMatchObject({ clean: true })
      stuck.destroy()
    } finally {
      if (!server.stopping()) await server.stop()
      fs.rmSync(directory, { recursive: true, force: true })
    }
  }, 60_000)
})
