// `concord serve` on SIGTERM exits within --shutdown-timeout-ms whatever its clients and its store do: a body sent in
// half and a multipart upload whose clients hold their sockets, headers never finished, a subscriber that stopped
// reading, an append stuck on a database that stopped answering.
import { EventStore } from "@concord/core"
import { Server } from "@concord/server"
import { describe, expect, inject, it } from "@effect/vitest"
import { Effect, Exit, Layer, Scope } from "effect"
import * as fs from "node:fs"
import * as http from "node:http"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { appendAny } from "./support/http.js"
import { startServer } from "./support/server.js"
import { postgresSuites } from "./support/suites.js"

const shutdownTimeoutMs = 3_000
/**
 * A deadline check on a shared machine, not a speed claim: what a loaded two-core machine may add to the bound (an
 * unloaded one adds about 50 ms).
 */
const marginMs = 1_500
/** After the bound, `concord serve` closes its store: a second at most on a PostgreSQL that does not answer. */
const storeCloseMs = 1_000
/** The health check's second is the point of it: a slower answer is a failure, give or take a loaded machine. */
const healthMarginMs = 1_000
// A request deadline far past the shutdown's, so that the shutdown's bound is what ends the requests in flight.
const flags = ["--shutdown-timeout-ms", String(shutdownTimeoutMs), "--request-timeout-ms", "120000"]

/** A client that sends `bytes` and then holds its socket open, noting when the service closes it. */
const holding = (url: string, bytes: string) =>
  new Promise<{ readonly closed: Promise<string> }>((resolve, reject) => {
    const { hostname, port } = new URL(url)
    const socket = net.connect(Number(port), hostname, () => {
      socket.write(bytes)
      resolve({ closed })
    })
    let received = ""
    socket.on("data", (chunk) => (received += String(chunk)))
    socket.on("error", () => {})
    const closed = new Promise<string>((done) => socket.on("close", () => done(received)))
    socket.once("error", reject)
  })

const halfBody = (streamId: string) => {
  const partial = "{\"expectedVersion\":\"any\",\"events\":[{\"type\":\"Half\","
  return `POST /streams/${streamId}/events HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n` +
    `content-length: ${partial.length + 1_000}\r\n\r\n${partial}`
}

const multipart = (streamId: string) => {
  const part = "--b0undary\r\ncontent-disposition: form-data; name=\"upload\"; filename=\"big.bin\"\r\n\r\n" +
    "x".repeat(4_096)
  return `POST /streams/${streamId}/events HTTP/1.1\r\nhost: x\r\ncontent-type: multipart/form-data; boundary=b0undary\r\n` +
    `content-length: ${part.length + 1_000_000}\r\n\r\n${part}`
}

/** A subscriber whose reader never reads. */
const neverReads = (url: string) =>
  new Promise<http.ClientRequest>((resolve, reject) => {
    const request = http.get(`${url}/events/subscribe`, { agent: false }, (response) => {
      response.pause()
      resolve(request)
    })
    request.on("error", reject)
  })

/** Forwards TCP connections to `target` until frozen: then it forwards nothing, as a database whose processes stopped. */
const freezableProxy = (target: URL) =>
  new Promise<{ readonly port: number; readonly freeze: () => void; readonly close: () => void }>((resolve) => {
    let frozen = false
    const sockets = new Set<net.Socket>()
    const track = (socket: net.Socket) => {
      sockets.add(socket)
      socket.on("error", () => {})
      socket.on("close", () => sockets.delete(socket))
      return socket
    }
    const server = net.createServer((client) => {
      track(client)
      if (frozen) return client.pause()
      const upstream = track(net.connect(Number(target.port), target.hostname))
      const forward = (from: net.Socket, to: net.Socket) => from.on("data", (chunk) => frozen || to.write(chunk))
      forward(client, upstream)
      forward(upstream, client)
      client.on("close", () => upstream.destroy())
      upstream.on("close", () => client.destroy())
    })
    server.listen(0, "127.0.0.1", () =>
      resolve({
        port: (server.address() as net.AddressInfo).port,
        freeze: () => (frozen = true),
        close: () => {
          server.close()
          for (const socket of sockets) socket.destroy()
        }
      }))
  })

/** A port nothing listens on now. */
const freePort = () =>
  new Promise<number>((resolve) => {
    const probe = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as net.AddressInfo
      probe.close(() => resolve(port))
    })
  })

/** An append to stream `stuck` never finishes, as on a database that stopped; one to `slow` takes a second. */
const stuckStore = Layer.effect(
  EventStore.EventStore,
  Effect.map(EventStore.EventStore, (store): EventStore.Service => ({
    ...store,
    append: (streamId, ...rest) =>
      streamId === "stuck"
        ? Effect.uninterruptible(Effect.never)
        : streamId === "slow"
        ? Effect.uninterruptible(Effect.zipRight(Effect.sleep("1 second"), store.append(streamId, ...rest)))
        : store.append(streamId, ...rest)
  }))
).pipe(Layer.provide(EventStore.layerMemory()))

const post = (url: string) =>
  fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ expectedVersion: "any", events: [{ type: "T", data: {} }] })
  }).then((response) => response.status, () => undefined)

describe("Server.layer released within shutdownTimeout", () => {
  it.live(
    "an append its store never finishes is cut at the bound; one that finishes before it is answered",
    () =>
      Effect.gen(function*() {
        const port = yield* Effect.promise(freePort)
        const scope = yield* Scope.make()
        yield* Layer.buildWithScope(
          Server.layer({ port, requestTimeout: "2 minutes", shutdownTimeout: `${shutdownTimeoutMs} millis` }).pipe(
            Layer.provide(stuckStore)
          ),
          scope
        )
        const url = `http://127.0.0.1:${port}/streams`
        const stuck = post(`${url}/stuck/events`)
        const slow = post(`${url}/slow/events`)
        yield* Effect.sleep("300 millis")
        const stopping = Date.now()
        yield* Scope.close(scope, Exit.void)
        const took = Date.now() - stopping
        expect(took).toBeGreaterThanOrEqual(shutdownTimeoutMs - 100)
        expect(took).toBeLessThan(shutdownTimeoutMs + marginMs)
        // The slow append finished within the bound and got its answer; the stuck one lost its connection.
        expect(yield* Effect.promise(() => slow)).toBe(200)
        expect(yield* Effect.promise(() => stuck)).toBeUndefined()
      }),
    60_000
  )
})

describe("SIGTERM within --shutdown-timeout-ms", () => {
  it("clients holding a half-sent body, a multipart upload, unfinished headers and a stuck subscriber", async () => {
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), "concord-shutdown-"))
    const server = await startServer(["--db", path.join(directory, "shutdown.db"), ...flags])
    try {
      await appendAny(server.url, "shutdown-answered", [{ type: "Before", data: {} }])
      const stuck = await neverReads(server.url)
      const clients = await Promise.all([
        holding(server.url, halfBody("shutdown-half")),
        holding(server.url, multipart("shutdown-upload")),
        holding(server.url, "POST /streams/shutdown-headers/events HTTP/1.1\r\nhost: x\r\ncontent-le")
      ])
      // The requests are in the service's hands before the signal.
      await new Promise((resolve) => setTimeout(resolve, 300))
      const stopping = Date.now()
      expect(await server.stop("SIGTERM")).toBe(0)
      const took = Date.now() - stopping
      // Without the bound, the half-sent body alone held the process for as long as its client held on.
      expect(took).toBeLessThan(shutdownTimeoutMs + marginMs)
      // Every connection was closed by the service, not by its client.
      await Promise.all(clients.map((client) => client.closed))
      stuck.destroy()
    } finally {
      if (!server.stopping()) await server.stop("SIGKILL")
      fs.rmSync(directory, { recursive: true, force: true })
    }
  }, 60_000)
})

const pgUrl = inject("pgUrl")

describe.skipIf(pgUrl === undefined)(postgresSuites.frozenDatabaseShutdown, () => {
  it("an append stuck on a database that stopped answering; /health says 503 within a second meanwhile", async () => {
    const target = new URL(pgUrl!)
    const proxy = await freezableProxy(target)
    const proxied = new URL(pgUrl!)
    proxied.hostname = "127.0.0.1"
    proxied.port = String(proxy.port)
    const server = await startServer(["--postgres", proxied.toString(), ...flags])
    try {
      await appendAny(server.url, "shutdown-frozen", [{ type: "Before", data: {} }])
      proxy.freeze()
      const asked = Date.now()
      const health = await fetch(`${server.url}/health`)
      expect(health.status).toBe(503)
      expect(Date.now() - asked).toBeLessThan(1_000 + healthMarginMs)
      const stuckAppend = holding(
        server.url,
        (() => {
          const body = JSON.stringify({ expectedVersion: "any", events: [{ type: "Stuck", data: {} }] })
          return `POST /streams/shutdown-frozen/events HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n` +
            `content-length: ${body.length}\r\n\r\n${body}`
        })()
      )
      await stuckAppend
      await new Promise((resolve) => setTimeout(resolve, 300))
      const stopping = Date.now()
      const code = await server.stop("SIGTERM")
      const took = Date.now() - stopping
      expect(took).toBeLessThan(shutdownTimeoutMs + storeCloseMs + marginMs)
      expect(code).toBe(0)
      await (await stuckAppend).closed
    } finally {
      if (!server.stopping()) await server.stop("SIGKILL")
      proxy.close()
    }
  }, 60_000)
})
