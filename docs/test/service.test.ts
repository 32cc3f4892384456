import { ConflictRegistry, EventStore, ExpectedVersion, StreamId } from "@concord/core"
import { Registries, Server } from "@concord/server"
import { HttpServer } from "@effect/platform"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { describe, expect, inject, it, layer } from "@effect/vitest"
import { Effect, Either, Fiber, Layer, Schedule } from "effect"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import { createServer } from "node:http"
import { createRequire } from "node:module"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { stripVTControlCharacters } from "node:util"
import * as Service from "../examples/service.js"
import { runTypeScript } from "./support/process.js"

const directory = fs.mkdtempSync(path.join(os.tmpdir(), "concord-docs-service-"))
const pgUrl = inject("pgUrl")
// The example's demo, `npm run demo`: the service itself ships without a domain.
const demo = fileURLToPath(new URL("../../packages/example-crm/src/main.ts", import.meta.url))
// `concord serve --help`, run once for the two tests that read it: each run of the command costs seconds of startup.
let serveHelpRun: ReturnType<typeof runTypeScript> | undefined
const serveHelp = () =>
  serveHelpRun ??= runTypeScript(fileURLToPath(new URL("../../packages/server/src/bin.ts", import.meta.url)), [
    "serve",
    "--help"
  ])

// The registry file `npm start` serves with.
const registryFile = new URL("../../packages/example-crm/registry.json", import.meta.url)
const registries = Either.getOrThrow(Registries.fromDocument(JSON.parse(fs.readFileSync(registryFile, "utf8"))))

const inProcess = Server.layerApp({ registries }).pipe(
  Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })),
  Layer.provideMerge(EventStore.layerMemory())
)

const baseUrl = Effect.map(
  HttpServer.HttpServer,
  (server) => server.address._tag === "TcpAddress" ? `http://127.0.0.1:${server.address.port}` : ""
)

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })

const healthy = (url: string, headers: Record<string, string> = {}) =>
  Effect.tryPromise(() => fetch(`${url}/health`, { headers }).then((r) => r.ok ? r.status : Promise.reject(r.status)))
    .pipe(Effect.retry(Schedule.spaced("50 millis").pipe(Schedule.upTo("20 seconds"))))

/** An HTTP exchange as the docs show it: the status line, then the JSON body. */
const exchange = (url: string, init?: RequestInit) =>
  Effect.promise(async () => {
    const response = await fetch(url, init)
    const body = JSON.stringify(await response.json(), null, 2)
    return `HTTP/1.1 ${response.status} ${response.statusText}\ncontent-type: application/json\n\n${body}\n`
  })

/** The start of a subscription as the docs show it: the status line and content type, then its first messages. */
const subscriptionTranscript = async (url: string, events: number) => {
  const abort = new AbortController()
  // The reading ends at the events wanted, or fails after 20 s.
  const timer = setTimeout(() => abort.abort(new Error(`no ${events} events from ${url} within 20 s`)), 20_000)
  const response = await fetch(url, { signal: abort.signal })
  const decoder = new TextDecoder()
  let text = ""
  try {
    for await (const chunk of response.body!) {
      text += decoder.decode(chunk, { stream: true })
      if (text.split("\n\n").filter((message) => message.startsWith("id:")).length >= events) break
    }
  } finally {
    clearTimeout(timer)
    abort.abort()
  }
  const messages = text.split("\n\n").filter((message) => message !== "").slice(0, events + 1)
  return `HTTP/1.1 ${response.status} ${response.statusText}\ncontent-type: ${
    response.headers.get("content-type")
  }\n\n` +
    messages.map((message) => `${message}\n\n`).join("")
}

const request = (name: string) => fs.readFileSync(new URL(`../examples/http/${name}.json`, import.meta.url), "utf8")

describe("the rules file on the page", () => {
  const rulesFile = fileURLToPath(new URL("../examples/rules.json", import.meta.url))
  type EncodedEvent = { readonly type: string; readonly data: Record<string, unknown> }
  const rules = Either.getOrThrow(Registries.fromDocument(JSON.parse(fs.readFileSync(rulesFile, "utf8"))))
  const conflicts = (streamId: string, proposed: EncodedEvent, committed: EncodedEvent) =>
    ConflictRegistry.isConflict(rules.forStream(StreamId.make(streamId)), proposed, committed)
  const note = { type: "MeetingNoteAdded", data: { noteId: "n1", author: "harry", text: "went well" } }
  const registered = { type: "ClientRegistered", data: { name: "Acme", value: 100 } }
  const archived = { type: "ClientArchived", data: {} }
  const upgraded = { type: "ClientValueUpgraded", data: { value: 500 } }
  const email = (contactId: string) => ({
    type: "ContactEmailChanged",
    data: { contactId, email: `${contactId}@a.test` }
  })

  it("has rules for the client category only", () => {
    expect(rules.categories).toEqual(["client"])
  })

  it("decides client streams as the page says", () => {
    expect(conflicts("client-acme", note, registered)).toBe(true)
    expect(conflicts("client-acme", note, archived)).toBe(true)
    expect(conflicts("client-acme", note, note)).toBe(false)
    expect(conflicts("client-acme", email("alice"), email("alice"))).toBe(true)
    expect(conflicts("client-acme", email("alice"), email("bob"))).toBe(false)
    expect(conflicts("client-acme", email("alice"), note)).toBe(false)
    // A type without a rule keeps the default.
    expect(conflicts("client-acme", upgraded, note)).toBe(true)
    // A committed type the file never names cannot be reasoned about: it clashes with every rule but never.
    expect(conflicts("client-acme", note, upgraded)).toBe(true)
    expect(conflicts("client-acme", email("alice"), upgraded)).toBe(true)
  })

  it("gives streams of other categories plain optimistic concurrency", () => {
    expect(conflicts("order-1", note, note)).toBe(true)
    expect(conflicts("order-1", email("alice"), email("bob"))).toBe(true)
  })

  it("accepts any type names, having no Schema", () => {
    const document = { categories: { client: { rules: [{ type: "SomethingHappened", conflictsWith: ["Other"] }] } } }
    expect(Either.isRight(Registries.fromDocument(document))).toBe(true)
  })

  it("an invalid file stops concord serve with the file and the path of the value at fault", async () => {
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), "concord-docs-rules-"))
    const invalid = path.join(directory, "rules.json")
    const document = JSON.parse(fs.readFileSync(rulesFile, "utf8"))
    document.categories.client.rules[0].conflictsWith[1] = { type: "ClientArchived", sameKey: 7 }
    fs.writeFileSync(invalid, JSON.stringify(document))
    const bin = fileURLToPath(new URL("../../packages/server/src/bin.ts", import.meta.url))
    const args = ["serve", "--db", path.join(directory, "events.db"), "--port", "0", "--registry", invalid]
    const { code, stderr } = await runTypeScript(bin, args, undefined, 30_000)
    expect(code).not.toBe(0)
    expect(stderr).toContain(invalid)
    expect(stderr).toContain("categories.client.rules[0].conflictsWith[1]")
  }, 60_000)
})

describe("the service", () => {
  layer(inProcess)("plain HTTP", (it) => {
    it.effect("the requests on the page get the responses on the page", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        for (const name of ["register", "upgrade", "note", "downgrade"]) {
          const response = yield* exchange(`${url}/streams/client-acme/events`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: request(name)
          })
          yield* Effect.promise(() => expect(response).toMatchFileSnapshot(`../examples/http/${name}.response.http`))
        }
        // A body that is not an append request: the decode error the page's table names.
        const invalid = yield* Effect.promise(() =>
          fetch(`${url}/streams/client-acme/events`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ expectedVersion: "latest", events: [] })
          }).then(async (response) => ({ status: response.status, body: await response.json() }))
        )
        expect(invalid).toMatchObject({ status: 400, body: { _tag: "HttpApiDecodeError" } })
        const version = yield* exchange(`${url}/streams/client-acme`)
        yield* Effect.promise(() => expect(version).toMatchFileSnapshot("../examples/http/version.response.http"))
        // The global log, and the same events as a subscription's messages. Times vary from run to run.
        const timeless = (text: string) => text.replace(/("recordedAt": ?)"[^"]+"/g, `$1"…"`)
        const log = yield* exchange(`${url}/events?categories=client&limit=2`)
        yield* Effect.promise(() => expect(timeless(log)).toMatchFileSnapshot("../examples/http/events.response.http"))
        const messages = yield* Effect.promise(() => subscriptionTranscript(`${url}/events/subscribe?after=1`, 2))
        yield* Effect.promise(() =>
          expect(timeless(messages)).toMatchFileSnapshot("../examples/http/subscribe.response.http")
        )
      }))
  })

  layer(inProcess)("reads", (it) => {
    it.effect(
      "a read without limit gets one page of 10,000; from and limit out of range and a bad path are 400",
      () =>
        Effect.gen(function*() {
          const url = yield* baseUrl
          const stream = `${url}/streams/client-long/events`
          const send = (events: number) =>
            fetch(stream, {
              method: "POST",
              headers: { "content-type": "application/json" },
              body: JSON.stringify({
                expectedVersion: "any",
                events: Array.from({ length: events }, (_, i) => ({ type: "MeetingNoteAdded", data: { i } }))
              })
            }).then((response) => response.status)
          for (const size of [...Array.from({ length: 10 }, () => 1_000), 1]) {
            expect(yield* Effect.promise(() => send(size))).toBe(200)
          }
          const read = (query: string) =>
            Effect.promise(() =>
              fetch(`${stream}${query}`).then(async (response) => ({
                status: response.status,
                body: (await response.json()) as { readonly events: ReadonlyArray<{ readonly version: number }> }
              }))
            )
          const page = yield* read("")
          expect(page.status).toBe(200)
          expect(page.body.events.length).toBe(10_000)
          expect(page.body.events.at(-1)?.version).toBe(10_000)
          const rest = yield* read("?from=10001")
          expect(rest.body.events.map((event) => event.version)).toEqual([10_001])
          for (const query of ["?from=0", "?from=2147483648", "?limit=10001", "?limit=-1"]) {
            expect(yield* read(query), query).toMatchObject({ status: 400, body: { _tag: "HttpApiDecodeError" } })
          }
          const badPath = yield* Effect.promise(() =>
            fetch(`${url}/streams/client-%E0%A4%A/events`).then(async (r) => ({
              status: r.status,
              body: await r.json()
            }))
          )
          expect(badPath).toMatchObject({ status: 400, body: { _tag: "MalformedRequest" } })
        }),
      60_000
    )
  })

  layer(inProcess)("clients", (it) => {
    it.effect("the quick-start program runs against the service through the EventStore Layer", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const append = yield* Effect.promise(() => Service.runRemote(url))
        expect(append).toEqual({ streamId: "client-acme", firstVersion: 3, lastVersion: 3, rebasedOver: 1 })
      }))

    it.effect(
      "npm run demo -- --url plays the story against the service as the why page shows it",
      () =>
        Effect.gen(function*() {
          const url = yield* baseUrl
          const { code, stderr, stdout } = yield* Effect.promise(() => runTypeScript(demo, ["--url", url]))
          expect(stderr).toBe("")
          expect(code).toBe(0)
          const shown = stdout.replace(/client-acme-[0-9a-z]+\b/g, "client-acme-<id>")
          yield* Effect.promise(() => expect(shown).toMatchFileSnapshot("../examples/output/demo.txt"))
        }),
      60_000
    )

    it.effect("the derived client calls every endpoint", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const outcome = yield* Effect.promise(() => Service.runDirect(url))
        expect(outcome).toEqual({
          appended: { streamId: "client-globex", firstVersion: 1, lastVersion: 1, rebasedOver: 0 },
          types: ["ClientRegistered"],
          version: 1,
          health: { status: "ok" }
        })
      }))
  })

  it.live("the embedded service serves on its port until interrupted", () =>
    Effect.gen(function*() {
      const port = yield* Effect.promise(freePort)
      const filename = path.join(directory, "embedded.db")
      const running = yield* Effect.fork(Layer.launch(Service.service({ port, filename })))
      expect(yield* healthy(`http://127.0.0.1:${port}`)).toBe(200)
      yield* Fiber.interrupt(running)
      expect(fs.existsSync(filename)).toBe(true)
    }))

  it.live("the observed service sends its spans to the collector and serves its metrics", () =>
    Effect.gen(function*() {
      const bodies: Array<{ readonly path: string; readonly text: string }> = []
      const collector = createServer((request, response) => {
        let text = ""
        request.on("data", (chunk) => (text += String(chunk)))
        request.on("end", () => {
          bodies.push({ path: request.url ?? "", text })
          response.writeHead(200, { "content-type": "application/json" }).end("{}")
        })
      })
      yield* Effect.acquireRelease(
        Effect.async<void>((resume) => void collector.listen(0, "127.0.0.1", () => resume(Effect.void))),
        () => Effect.sync(() => collector.close())
      )
      const address = collector.address() as net.AddressInfo
      const port = yield* Effect.promise(freePort)
      const url = `http://127.0.0.1:${port}`
      const running = yield* Effect.fork(Layer.launch(Service.observed({
        port,
        filename: path.join(directory, "observed.db"),
        collector: `http://127.0.0.1:${address.port}`
      })))
      expect(yield* healthy(url)).toBe(200)
      const appended = yield* Effect.promise(() =>
        fetch(`${url}/streams/client-observed/events`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            expectedVersion: 0,
            events: [{ type: "ClientRegistered", data: { secret: "s3cr3t" } }]
          })
        })
      )
      expect(appended.status).toBe(200)
      const metrics = yield* Effect.promise(() => fetch(`${url}/metrics`).then((response) => response.text()))
      expect(metrics).toMatch(/^concord_appends_total\{outcome="accepted"\} [1-9]/m)
      // What waits is sent when the service stops.
      yield* Fiber.interrupt(running)
      const traces = bodies.filter((body) => body.path === "/v1/traces").map((body) => body.text).join("\n")
      expect(traces).toContain("concord.store.append")
      expect(traces).toContain("crm-events")
      expect(bodies.map((body) => body.text).join("\n")).not.toContain("s3cr3t")
    }).pipe(Effect.scoped), 30_000)

  it.live.runIf(pgUrl !== undefined)(
    "two production processes over one PostgreSQL database share the streams; both require the token",
    () =>
      Effect.gen(function*() {
        const token = "a-token-for-the-docs-tests"
        const ports = yield* Effect.promise(() => Promise.all([freePort(), freePort()]))
        const urls = ports.map((port) => `http://127.0.0.1:${port}`)
        // Both start at once, as a deployment's processes do.
        const servers = yield* Effect.forEach(ports, (port, i) =>
          Effect.gen(function*() {
            const server = yield* Effect.fork(Layer.launch(Service.production({ port, postgresUrl: pgUrl!, token })))
            expect(yield* healthy(urls[i]!, { authorization: `Bearer ${token}` })).toBe(200)
            expect((yield* Effect.promise(() => fetch(`${urls[i]}/health`))).status).toBe(401)
            return server
          }), { concurrency: "unbounded" })
        const streamId = StreamId.make(`client-lb-${Date.now()}`)
        const via = (url: string) => Service.remoteStore(url, token)
        const append = (url: string, expected: ExpectedVersion.ExpectedVersion, type: string, data: object) =>
          Effect.flatMap(EventStore.EventStore, (store) => store.append(streamId, expected, [{ type, data }])).pipe(
            Effect.provide(via(url))
          )
        yield* append(urls[0]!, ExpectedVersion.noStream, "ClientRegistered", { name: "Acme", value: 100 })
        yield* append(urls[1]!, ExpectedVersion.exact(1), "ClientValueUpgraded", { value: 500 })
        const note = yield* append(urls[0]!, ExpectedVersion.exact(1), "MeetingNoteAdded", {
          noteId: "n1",
          author: "harry",
          text: "went well"
        })
        expect(note).toMatchObject({ firstVersion: 3, rebasedOver: 1 })
        const conflict = yield* Effect.flip(
          append(urls[1]!, ExpectedVersion.exact(1), "ClientValueDowngraded", { value: 50 })
        )
        expect(conflict._tag).toBe("ConcurrencyConflict")
        yield* Effect.forEach(servers, Fiber.interrupt)
      }),
    60_000
  )

  it(
    "every flag and variable the page names is one the concord commands, the demo or the read model knows",
    async () => {
      const page = fs.readFileSync(new URL("../service.md", import.meta.url), "utf8")
      const named = new Set([...page.matchAll(/(--[a-z][a-z-]+|CONCORD_[A-Z_]+)/g)].map((match) => match[1]!))
      const bin = fileURLToPath(new URL("../../packages/server/src/bin.ts", import.meta.url))
      const readModel = fileURLToPath(new URL("../../packages/example-crm/src/readModelMain.ts", import.meta.url))
      const help = await Promise.all([
        serveHelp(),
        runTypeScript(bin, ["tail", "--help"]),
        runTypeScript(demo, ["--help"]),
        runTypeScript(readModel, ["--help"])
      ])
      const stdout = help.map((run) => run.stdout).join("\n")
      expect(named.size).toBeGreaterThan(10)
      for (const name of named) expect(stdout, name).toContain(name)
    },
    60_000
  )

  // The tests from here on each start a process of their own (or read the help already run) and wait on nothing from
  // one another: they run side by side.
  it.concurrent("concord serve prints the line the pages show once it listens", async () => {
    const db = path.join(directory, "listening.db")
    const tsx = createRequire(import.meta.url).resolve("tsx")
    const bin = fileURLToPath(new URL("../../packages/server/src/bin.ts", import.meta.url))
    const child = spawn(
      process.execPath,
      ["--conditions=@concord/source", "--import", tsx, bin, "serve", "--db", db, "--port", "0"],
      { stdio: ["ignore", "pipe", "pipe"], timeout: 30_000 }
    )
    const line = await new Promise<string>((resolve, reject) => {
      let stdout = ""
      child.stdout.on("data", (chunk) => {
        stdout += String(chunk)
        const found = /^Concord is listening.*$/m.exec(stdout)
        if (found !== null) resolve(found[0])
      })
      child.on("exit", (code) => reject(new Error(`concord serve exited with ${code} before listening:\n${stdout}`)))
    }).finally(() => child.kill("SIGTERM"))
    // The system picks the port: one chosen beforehand could be taken by a test running in parallel.
    const shown = line.replaceAll(/:\d+\b/g, ":8080")
    for (const page of ["service.md", "quick-start.md"]) {
      expect(fs.readFileSync(new URL(`../${page}`, import.meta.url), "utf8"), page).toContain(shown)
    }
  }, 60_000)

  it.concurrent("concord serve refuses a token shorter than 16 characters", async () => {
    const bin = fileURLToPath(new URL("../../packages/server/src/bin.ts", import.meta.url))
    const args = ["serve", "--db", path.join(directory, "weak.db"), "--port", "0", "--token", "fifteen-chars!!"]
    const { code, stderr } = await runTypeScript(bin, args, undefined, 30_000)
    expect(code).not.toBe(0)
    expect(stderr).toContain("at least 16 characters")
  }, 60_000)

  it.concurrent(
    "concord serve refuses to bind beyond loopback without a token, with the message the page shows",
    async () => {
      const bin = fileURLToPath(new URL("../../packages/server/src/bin.ts", import.meta.url))
      const args = ["serve", "--db", path.join(directory, "exposed.db"), "--host", "0.0.0.0", "--port", "0"]
      const { code, stderr } = await runTypeScript(bin, args, undefined, 30_000)
      expect(code).not.toBe(0)
      const page = fs.readFileSync(new URL("../service.md", import.meta.url), "utf8")
      expect(page).toContain(`\n${stderr.trim()}\n`)
      expect(stderr).toContain("concord: binding 0.0.0.0")
    },
    60_000
  )

  it.concurrent(
    "the page's table has a row for every option of concord serve, with its environment variable",
    async () => {
      const page = fs.readFileSync(new URL("../service.md", import.meta.url), "utf8")
      // Without colours. The usage line names the command's own options; each has a section naming its variable.
      const help = stripVTControlCharacters((await serveHelp()).stdout)
      const flags = [.../^\$ serve (.*)$/m.exec(help)![1]!.matchAll(/\[(--[a-z][a-z-]*)/g)].map((match) => match[1]!)
      expect(flags.length).toBeGreaterThanOrEqual(7)
      for (const flag of flags) {
        const section = help.slice(help.search(new RegExp(`^${flag}( |$)`, "m"))).split(/\n(?=--|\()/)[0]!
        const variable = /\(env (CONCORD_[A-Z_]+)/.exec(section)?.[1]
        expect(variable, `${flag} names its variable`).toBeDefined()
        expect(page, flag).toMatch(new RegExp(`^\\| \`${flag}\\b[^|]*\` \\| \`${variable}\` \\|`, "m"))
      }
    },
    60_000
  )
})
