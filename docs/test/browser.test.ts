// The browser page on the service page, run in a real browser: EventSource follows the log from the service's own
// origin, and after its connections are cut it reconnects with Last-Event-ID, so the page lists every client event
// once and in log order.
import { EventStore } from "@concord/core"
import { Server } from "@concord/server"
import { HttpServer } from "@effect/platform"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { describe, expect, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as fs from "node:fs"
import { createServer, type ServerResponse } from "node:http"
import { chromium } from "playwright-core"

const chromiumPath = "/usr/bin/chromium"
const available = fs.existsSync(chromiumPath)
const page = fs.readFileSync(new URL("../examples/browser/follow.html", import.meta.url), "utf8")

// The service on a Node server whose subscription responses the test can cut, as a network would, and which
// remembers the Last-Event-ID each subscription request carried.
const nodeServer = createServer()
const open = new Set<ServerResponse>()
const lastEventIds: Array<string | undefined> = []
nodeServer.on("request", (request, response) => {
  if (request.url?.startsWith("/events/subscribe")) {
    lastEventIds.push(request.headers["last-event-id"] as string | undefined)
    open.add(response)
    response.once("close", () => open.delete(response))
  }
})

const service = Server.layerApp({ keepAliveInterval: "1 second" }).pipe(
  Layer.provideMerge(NodeHttpServer.layer(() => nodeServer, { port: 0, host: "127.0.0.1" })),
  Layer.provideMerge(EventStore.layerMemory())
)

const append = (url: string, streamId: string, type: string, data: object) =>
  fetch(`${url}/streams/${streamId}/events`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ expectedVersion: "any", events: [{ type, data }] })
  }).then((response) => expect(response.status).toBe(200))

describe.runIf(available || process.env.CI === "true")("the browser page on the service page", () => {
  layer(service, { excludeTestServices: true })((it) => {
    it.effect("lists every client event once, in log order, across cut connections", () =>
      Effect.gen(function*() {
        const server = yield* HttpServer.HttpServer
        const url = server.address._tag === "TcpAddress" ? `http://127.0.0.1:${server.address.port}` : ""
        yield* Effect.promise(async () => {
          const browser = await chromium.launch({
            executablePath: chromiumPath,
            args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
          })
          try {
            const context = await browser.newContext()
            // The page as a file served from the service's origin: same origin, so EventSource needs no CORS.
            await context.route(`${url}/follow.html`, (route) =>
              route.fulfill({ status: 200, contentType: "text/html; charset=utf-8", body: page }))
            // Functions passed to the page run in the browser and reach its document through globalThis: this
            // program is compiled without the DOM's types.
            const tab = await context.newPage()
            const errors: Array<string> = []
            tab.on("pageerror", (error) =>
              errors.push(error.message))
            await append(url, "client-acme", "ClientRegistered", { name: "Acme", value: 100 })
            await append(url, "invoice-7", "InvoiceIssued", { amount: 40 })
            await tab.goto(`${url}/follow.html`)
            await tab.waitForFunction(() =>
              (globalThis as any).document.getElementById("status")?.textContent === "live"
            )
            const listed = () => tab.$$eval("#events li", (items: Array<any>) => items.map((item) => item.textContent))
            const shown = (count: number) =>
              tab.waitForFunction(
                (n) => (globalThis as any).document.querySelectorAll("#events li").length >= n,
                count,
                {
                  timeout: 20_000
                }
              )
            await shown(1)
            // Cut while writers go on: the browser reconnects by itself, with the last id it saw.
            for (let round = 0; round < 2; round++) {
              await append(url, "client-acme", "MeetingNoteAdded", { round })
              await append(url, "client-globex", "ClientRegistered", { name: "Globex", round })
              // The previous cut's reconnection is made before this one cuts it.
              for (const deadline = Date.now() + 20_000; lastEventIds.length < round + 1 || open.size === 0;) {
                if (Date.now() > deadline) throw new Error("the page did not reconnect within 20 s")
                await new Promise((resolve) => setTimeout(resolve, 20))
              }
              for (const response of open) response.destroy()
              await append(url, "invoice-7", "InvoicePaid", { round })
              await append(url, "client-acme", "ClientValueUpgraded", { value: 200 + round })
            }
            const log = await fetch(`${url}/events?categories=client`).then((response) =>
              response.json() as Promise<any>
            )
            expect(log.events).toHaveLength(7)
            await shown(log.events.length)
            // Let any duplicate that would follow arrive before comparing.
            await new Promise((resolve) => setTimeout(resolve, 300))
            expect(await listed()).toEqual(
              log.events.map((event: any) =>
                `${event.streamId} v${event.version} ${event.type} ${JSON.stringify(event.data)}`
              )
            )
            const positions = await tab.$$eval(
              "#events li",
              (items: Array<any>) => items.map((item) => item.dataset.position as string)
            )
            expect(positions).toEqual(log.events.map((event: any) => event.position))
            // The first request had no Last-Event-ID; the reconnections carried the last position delivered.
            expect(lastEventIds[0]).toBeUndefined()
            expect(lastEventIds.length).toBeGreaterThanOrEqual(3)
            for (const id of lastEventIds.slice(1)) expect(positions).toContain(id)
            expect(errors).toEqual([])
          } finally {
            await browser.close()
          }
        })
      }), 90_000)
  })
})
