import SwaggerParser from "@apidevtools/swagger-parser"
import { Event, EventStore, ExpectedVersion, StreamId } from "@concord/core"
import { Registry } from "@concord/example-crm"
import { ConcordClient } from "@concord/server"
import { Postgres } from "@concord/test-postgres"
import { Checker } from "@concord/testing"
import { FetchHttpClient } from "@effect/platform"
import { afterAll, beforeAll, describe, expect, inject, it } from "@effect/vitest"
import { Effect, FastCheck as fc, Fiber, Layer, Random, Redacted, Schedule } from "effect"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { postOnce, runConcord, runDemo, type Running, type Sent, startServer } from "./support/server.js"
import { postgresSuites } from "./support/suites.js"

const directory = fs.mkdtempSync(path.join(os.tmpdir(), "concord-e2e-"))
const registryFile = fileURLToPath(new URL("../../example-crm/registry.json", import.meta.url))
const token = "e2e-token-0123456789"

const clientOf = (url: string, withToken = true) =>
  ConcordClient.layerEventStore({ baseUrl: url, token: withToken ? Redacted.make(token) : undefined }).pipe(
    Layer.provide(FetchHttpClient.layer)
  )

/** A CRM event of a random kind: notes and contact changes mostly commute, value changes conflict. */
const crmEvent = (id: string) =>
  Effect.map(Random.nextIntBetween(0, 10), (roll): Event.EventData & { readonly id: Event.EventId } => {
    const eventId = Event.EventId.make(id)
    if (roll < 4) return { id: eventId, type: "MeetingNoteAdded", data: { noteId: id, author: "e2e", text: id } }
    if (roll < 7) {
      return { id: eventId, type: "ContactEmailChanged", data: { contactId: ["a", "b", "c"][roll % 3], email: id } }
    }
    return { id: eventId, type: roll < 9 ? "ClientValueUpgraded" : "ClientValueDowngraded", data: { value: roll } }
  })

/** Clients that each read a stream's version and append with a stale expected version on purpose. */
const concurrentClients = (options: {
  readonly urls: ReadonlyArray<string>
  readonly streams: ReadonlyArray<string>
  readonly clients: number
  readonly appendsEach: number
  /** Where every attempt is recorded as it completes. */
  readonly attempts: Array<Checker.Attempt>
}) =>
  Effect.gen(function*() {
    const { attempts } = options
    yield* Effect.forEach(options.streams, (id) =>
      Effect.gen(function*() {
        const store = yield* EventStore.EventStore
        const events = [{
          id: Event.EventId.make(`${id}-registered`),
          type: "ClientRegistered",
          data: { name: id, value: 1 }
        }]
        const result = yield* store.append(StreamId.make(id), ExpectedVersion.noStream, events)
        attempts.push({
          streamId: id,
          expectedVersion: ExpectedVersion.noStream,
          events,
          registry: Registry.registry,
          outcome: { _tag: "Acknowledged", result }
        })
      }).pipe(Effect.provide(clientOf(options.urls[0]!))))
    yield* Effect.forEach(Array.from({ length: options.clients }, (_, i) => i), (client) =>
      Effect.gen(function*() {
        const store = yield* EventStore.EventStore
        for (let i = 0; i < options.appendsEach; i++) {
          const streamId = StreamId.make(options.streams[yield* Random.nextIntBetween(0, options.streams.length)]!)
          const current = yield* store.version(streamId)
          const expected = ExpectedVersion.exact(Math.max(1, current - (yield* Random.nextIntBetween(0, 3))))
          const events = yield* Effect.forEach([0, 1], (k) => crmEvent(`c${client}-${i}-k${k}-${streamId}`))
          const outcome = yield* Effect.either(store.append(streamId, expected, events))
          attempts.push({
            streamId,
            expectedVersion: expected,
            events,
            registry: Registry.registry,
            outcome: outcome._tag === "Right"
              ? { _tag: "Acknowledged", result: outcome.right }
              : outcome.left._tag === "StoreError"
              ? { _tag: "Unknown" }
              : { _tag: "Rejected", error: outcome.left._tag }
          })
        }
      }).pipe(Effect.provide(clientOf(options.urls[client % options.urls.length]!))), { concurrency: "unbounded" })
    return yield* Checker.readLogs(options.streams).pipe(Effect.provide(clientOf(options.urls[0]!)))
  })

/** The Joe & Harry story as the example's demo prints it, step by step, with its read model following each save. */
const expectDemo = ({ code, stdout }: { readonly code: number | null; readonly stdout: string }) => {
  expect(code).toBe(0)
  const readModel = (line: string) => line.startsWith("   Read model at version")
  expect(stdout.trim().split("\n").filter(readModel)).toEqual([
    "   Read model at version 5: Acme, expected value 150, 1 meeting note.",
    "   Read model at version 6: Acme, expected value 150, 1 → 2 meeting notes.",
    "   Read model at version 7: Acme, expected value 150 → 500, 2 meeting notes."
  ])
  const lines = stdout.trim().split("\n").filter((line) => !readModel(line))
  expect(lines).toHaveLength(9)
  expect(lines[2]).toBe("3. Harry saves his meeting notes (expected version 5): appended at version 6.")
  expect(lines[5]).toContain("appends it at version 7 (rebasedOver = 1)")
  expect(lines[7]).toMatch(
    /Refused, nothing written: .*ClientValueDowngraded \(proposed #0\) conflicts with ClientValueUpgraded \(version 7\)/
  )
  expect(lines[8]).toContain("value 500")
}

describe("the service as a real process on SQLite", () => {
  let server: Running
  const database = path.join(directory, "e2e.db")

  beforeAll(async () => {
    server = await startServer([
      "--db",
      database,
      "--registry",
      registryFile,
      "--token",
      token,
      "--max-body-bytes",
      "65536"
    ])
  }, 60_000)
  afterAll(async () => {
    await server?.stop()
  })

  it("prints where it listens and where its docs are", () => {
    expect(server.output()).toMatch(
      /Concord is listening on http:\/\/127\.0\.0\.1:\d+ \(API docs: http:\/\/127\.0\.0\.1:\d+\/docs\)/
    )
  })

  it("the example's demo plays Joe & Harry against it through the client, step by step", async () => {
    expectDemo(await runDemo(["--url", server.url, "--token", token]))
  }, 60_000)

  it("the demo takes its address and token from the environment too", async () => {
    expectDemo(await runDemo([], { CONCORD_URL: server.url, CONCORD_TOKEN: token }))
  }, 60_000)

  it("serves a valid OpenAPI document", async () => {
    const response = await fetch(`${server.url}/docs/openapi.json`, { headers: { authorization: `Bearer ${token}` } })
    const document = await response.json()
    await expect(SwaggerParser.validate(document as never)).resolves.toBeDefined()
  })

  it.effect(
    "50 concurrent clients appending to shared streams: the checker finds the log sound",
    () =>
      Effect.gen(function*() {
        const streams = ["client-e2e-a", "client-e2e-b", "client-e2e-c"]
        const attempts: Array<Checker.Attempt> = []
        const logs = yield* concurrentClients({ urls: [server.url], streams, clients: 50, appendsEach: 6, attempts })
        expect(Checker.check({ logs, attempts })).toEqual([])
        expect(attempts.filter((a) => a.outcome._tag === "Acknowledged" && a.outcome.result.rebasedOver > 0).length)
          .toBeGreaterThan(0)
        expect(attempts.some((a) => a.outcome._tag === "Rejected")).toBe(true)
      }),
    120_000
  )

  it.effect(
    "fuzz: 1,000 malformed requests are each answered 4xx with a message, and change nothing",
    () =>
      Effect.gen(function*() {
        const stream = "client-fuzz"
        const store = clientOf(server.url)
        yield* Effect.flatMap(EventStore.EventStore, (s) =>
          s.append(StreamId.make(stream), ExpectedVersion.noStream, [{
            type: "ClientRegistered",
            data: { name: "f", value: 1 }
          }])).pipe(
            Effect.provide(store)
          )
        const before = yield* Checker.readLogs([stream]).pipe(Effect.provide(store))
        const healthBefore = yield* Effect.promise(() =>
          fetch(`${server.url}/health`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status)
        )
        expect(healthBefore).toBe(200)

        const valid = {
          expectedVersion: 1,
          events: [{ type: "MeetingNoteAdded", data: { noteId: "n", author: "a", text: "t" } }]
        }
        const auth = { authorization: `Bearer ${token}` }
        const json = (body: unknown) => JSON.stringify(body)
        const malformed = fc.oneof(
          // bad JSON
          fc.tuple(
            fc.constantFrom("{", "[", "{\"expectedVersion\":", "nul", "{'a':1}", "{\"events\":[}", ""),
            fc.string()
          )
            .filter(([start, rest]) => {
              try {
                JSON.parse(start + rest)
                return false
              } catch {
                return true
              }
            })
            .map(([start, rest]) => ({ path: stream, headers: auth, body: start + rest })),
          // wrong types and shapes
          fc.record({
            expectedVersion: fc.oneof(
              fc.string().filter((s) => s !== "any" && s !== "noStream"),
              fc.boolean(),
              fc.constant(null),
              fc.object()
            ),
            events: fc.anything()
          }).map((body) => ({ path: stream, headers: auth, body: json(body) })),
          fc.record({
            expectedVersion: fc.constant(1),
            events: fc.oneof(fc.string(), fc.integer(), fc.object(), fc.constant(null))
          })
            .map((body) => ({ path: stream, headers: auth, body: json(body) })),
          // huge and negative numbers
          fc.constantFrom("1e999", "-1", "-0.5", "1.5", "9007199254740993", "1e308", "-1e308")
            .map((n) => ({ path: stream, headers: auth, body: `{"expectedVersion":${n},"events":[]}` })),
          fc.constantFrom("1e999", "-1e999").map((n) => ({
            path: stream,
            headers: auth,
            body: `{"expectedVersion":"any","events":[{"type":"MeetingNoteAdded","data":{"n":${n}}}]}`
          })),
          // empty or non-string event types
          fc.oneof(
            fc.constant(""),
            fc.integer(),
            fc.constant(null),
            fc.array(fc.string()),
            fc.string({ minLength: 257, maxLength: 300 })
          )
            .map((type) => ({
              path: stream,
              headers: auth,
              body: json({ expectedVersion: "any", events: [{ type, data: {} }] })
            })),
          // oversized bodies
          fc.integer({ min: 65_537, max: 200_000 }).map((size) => ({
            path: stream,
            headers: auth,
            body: json({
              expectedVersion: "any",
              events: [{ type: "MeetingNoteAdded", data: { text: "x".repeat(size) } }]
            })
          })),
          // missing or wrong token
          fc.oneof(
            fc.constant({}),
            fc.string().map((t) => ({ authorization: `Bearer ${t}` })),
            fc.constant({ authorization: token }),
            fc.constant({ authorization: `Bearer ${token}x` })
          ).map((headers) => ({ path: stream, headers, body: json(valid) })),
          // stream ids a stream cannot have
          fc.constantFrom("%00", "a%00b", "x".repeat(600)).map((id) => ({ path: id, headers: auth, body: json(valid) }))
        )
        const statuses = new Map<number, number>()
        const property = fc.asyncProperty(malformed, async (request) => {
          const response = await fetch(`${server.url}/streams/${request.path}/events`, {
            method: "POST",
            headers: { "content-type": "application/json", ...request.headers },
            body: request.body
          })
          const text = await response.text()
          statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1)
          expect(response.status, text).toBeGreaterThanOrEqual(400)
          expect(response.status, text).toBeLessThan(500)
          const body = JSON.parse(text) as { message?: unknown; reason?: unknown }
          const said = body.message ?? body.reason
          expect(typeof said === "string" && said.length > 0, text).toBe(true)
          expect(text).not.toMatch(/\n\s+at |SELECT|INSERT|sqlite/i)
        })
        yield* Effect.promise(() => fc.assert(property, { numRuns: 1_000 }))

        // Reads: query parameters out of bounds or not integers, and stream ids in the path no stream can have, are
        // refused with a message; ids with odd characters that a stream can have are read back exactly.
        const badNumbers = fc.constantFrom(
          "",
          "abc",
          "-1",
          "1.5",
          "NaN",
          "Infinity",
          "-Infinity",
          "1e999",
          "9007199254740993"
        )
        const readPath = (id: string) => fc.constantFrom(`/streams/${id}/events`, `/streams/${id}`)
        const badRead = fc.oneof(
          fc.oneof(
            badNumbers.map((n) => `from=${n}`),
            fc.constantFrom("from=0", "from=2147483648", "from=99999999999", "from=1&from=2"),
            badNumbers.map((n) => `limit=${n}`),
            fc.constantFrom("limit=10001", "limit=2147483648", "limit=1&limit=2")
          ).map((query) => `/streams/${stream}/events?${query}`),
          fc.constantFrom("%00", "a%00b", "x".repeat(600), "%ZZ", "%E0%A4%A", "%ED%A0%80", "%FF").chain(readPath)
        )
        const oddId = fc.fullUnicodeString({ minLength: 1, maxLength: 40 }).filter((id) =>
          !id.includes("\u0000") && id !== "." && id !== ".."
        )
        const readProperty = fc.asyncProperty(
          fc.oneof(
            badRead.map((url) => ({ url, streamId: undefined })),
            oddId.map((id) => ({ url: undefined, streamId: id }))
          ),
          async ({ url, streamId }) => {
            const target = url ?? `/streams/${encodeURIComponent(streamId!)}`
            const response = await fetch(`${server.url}${target}`, { headers: auth })
            const text = await response.text()
            if (streamId !== undefined) {
              expect(response.status, target).toBe(200)
              expect(JSON.parse(text), target).toEqual({ streamId, version: 0 })
              return
            }
            statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1)
            expect(response.status, `${target}: ${text}`).toBeGreaterThanOrEqual(400)
            expect(response.status, `${target}: ${text}`).toBeLessThan(500)
            const body = JSON.parse(text) as { message?: unknown }
            expect(typeof body.message === "string" && body.message.length > 0, text).toBe(true)
            expect(text).not.toMatch(/\n\s+at |SELECT|INSERT|sqlite/i)
          }
        )
        yield* Effect.promise(() => fc.assert(readProperty, { numRuns: 500 }))

        const healthAfter = yield* Effect.promise(() =>
          fetch(`${server.url}/health`, { headers: auth }).then((r) => r.status)
        )
        expect(healthAfter).toBe(200)
        expect(yield* Checker.readLogs([stream]).pipe(Effect.provide(store))).toEqual(before)
        expect([...statuses.keys()].sort()).toEqual(expect.arrayContaining([400, 401, 413]))
      }),
    180_000
  )
})

// Each test starts processes of its own and waits on nothing from the others: they run side by side.
describe.concurrent("starting the service", () => {
  it("an invalid registry file stops it with a message naming the file and the path", async () => {
    const file = path.join(directory, "bad-registry.json")
    fs.writeFileSync(
      file,
      JSON.stringify({ categories: { client: { rules: [{ type: "A", conflictsWith: ["B", "B"] }] } } })
    )
    const { code, stderr } = await runConcord([
      "serve",
      "--port",
      "0",
      "--db",
      path.join(directory, "x.db"),
      "--registry",
      file
    ])
    expect(code).not.toBe(0)
    expect(stderr).toContain(file)
    expect(stderr).toContain("categories.client.rules[0].conflictsWith[1]")
    expect(stderr).not.toMatch(/\s+at .+:\d+:\d+/)
  }, 60_000)

  it("binding beyond loopback without a token is refused", async () => {
    const { code, stderr } = await runConcord([
      "serve",
      "--port",
      "0",
      "--host",
      "0.0.0.0",
      "--db",
      path.join(directory, "y.db")
    ])
    expect(code).not.toBe(0)
    expect(stderr).toContain("start the service with a token")
  }, 60_000)

  it("an empty or short token is refused at start, from the flag or the environment", async () => {
    const cases = [
      [["--token", ""], {}],
      [["--token", "short-token"], {}],
      [["--host", "0.0.0.0", "--token", ""], {}],
      [["--host", "0.0.0.0"], { CONCORD_TOKEN: "" }]
    ] as const
    const runs = await Promise.all(
      cases.map(([args, env]) =>
        runConcord(["serve", "--port", "0", "--db", path.join(directory, "t.db"), ...args], env)
      )
    )
    for (const [i, { code, stderr }] of runs.entries()) {
      const [args] = cases[i]!
      expect(code, args.join(" ")).not.toBe(0)
      expect(stderr, args.join(" ")).toContain("a token must be at least 16 characters long")
      expect(stderr).not.toContain("listening")
    }
  }, 60_000)

  it("a file it cannot open as a database stops it with one line naming the file", async () => {
    const file = path.join(directory, "not-a-database.db")
    fs.writeFileSync(file, "not a database ".repeat(300))
    const { code, stderr } = await runConcord(["serve", "--port", "0", "--db", file])
    expect(code).not.toBe(0)
    expect(stderr).toContain(
      `concord: the event store failed to open the SQLite file ${file}: file is not a database\n`
    )
    expect(stderr).not.toMatch(/\s+at .+:\d+:\d+/)
  }, 60_000)

  it("the demo without --url plays the story on an in-memory store", async () => {
    expectDemo(await runDemo([]))
  }, 60_000)

  it("the demo refuses --read-model without --url, in one line, writing nothing", async () => {
    const { code, stderr, stdout } = await runDemo(["--read-model", "http://127.0.0.1:9"])
    expect(code).not.toBe(0)
    expect(stderr.trim()).toBe("demo: --read-model follows the saves of a service: give the service's --url too")
    expect(stdout).toBe("")
  }, 60_000)

  it("the service ships without the example domain: neither its dependencies nor its sources name it", () => {
    const manifest = JSON.parse(fs.readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
      readonly dependencies: Record<string, string>
    }
    expect(Object.keys(manifest.dependencies)).not.toContain("@concord/example-crm")
    const sources = fs.readdirSync(new URL("../src", import.meta.url), { recursive: true, encoding: "utf8" })
      .filter((file) => file.endsWith(".ts"))
    expect(sources.length).toBeGreaterThan(5)
    for (const file of sources) {
      expect(fs.readFileSync(new URL(`../src/${file}`, import.meta.url), "utf8"), file).not.toContain("example-crm")
    }
  })

  it("the installed bin runs on plain Node, without tsx or the source condition", async () => {
    const { bin } = JSON.parse(fs.readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
      readonly bin: { readonly concord: string }
    }
    const result = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      const child = spawn(
        process.execPath,
        [fileURLToPath(new URL(`../${bin.concord}`, import.meta.url)), "--version"],
        {
          stdio: ["ignore", "pipe", "inherit"]
        }
      )
      let stdout = ""
      child.stdout.on("data", (chunk) => (stdout += String(chunk)))
      child.on("exit", (code) => resolve({ code, stdout }))
    })
    expect(result.code).toBe(0)
    expect(result.stdout.trim()).toBe("0.1.0")
  }, 60_000)

  it("reads its configuration from the environment", async () => {
    const { code, stderr } = await runConcord(["serve"], {
      CONCORD_PORT: "0",
      CONCORD_HOST: "0.0.0.0",
      CONCORD_DB: path.join(directory, "env.db")
    })
    expect(code).not.toBe(0)
    expect(stderr).toContain("binding 0.0.0.0")
  }, 60_000)

  it("checks a value from the environment as it checks the flag", async () => {
    const { code, stdout, stderr } = await runConcord(["serve", "--port", "0"], {
      CONCORD_DB: path.join(directory, "env-lock.db"),
      CONCORD_LOCK_TIMEOUT_MS: "0"
    })
    expect(code).not.toBe(0)
    expect(`${stdout}${stderr}`).toContain("--lock-timeout-ms must be at least 1")
    expect(`${stdout}${stderr}`).not.toContain("listening")
  }, 60_000)
})

describe("SIGTERM", () => {
  it.live(
    "answers every request it received before the signal with 200 or 409, then exits 0; the log is sound",
    () =>
      Effect.gen(function*() {
        const database = path.join(directory, "sigterm.db")
        const server = yield* Effect.promise(() => startServer(["--db", database, "--registry", registryFile]))
        const streams = ["client-term-a", "client-term-b"]
        const known = new Map(streams.map((id) => [id, 1]))
        const attempts: Array<Checker.Attempt> = []
        const outcomes: Array<Sent> = []
        /** One append on a connection of its own, recorded for the checker once answered (or not). */
        const appendOnce = (label: string) =>
          Effect.gen(function*() {
            const streamId = streams[yield* Random.nextIntBetween(0, streams.length)]!
            const version = Math.max(1, known.get(streamId)! - (yield* Random.nextIntBetween(0, 3)))
            const expected = ExpectedVersion.exact(version)
            const events = yield* Effect.forEach([0, 1], (k) => crmEvent(`${label}-k${k}-${streamId}`))
            const { outcome, written } = postOnce(`${server.url}/streams/${streamId}/events`, {
              expectedVersion: version,
              events
            }, server.stopping)
            return {
              written,
              answered: Effect.promise(() => outcome).pipe(Effect.map((sent) => {
                outcomes.push(sent)
                const body = sent.status === undefined || sent.body === "" ? {} : JSON.parse(sent.body)
                if (sent.status === 200) known.set(streamId, Math.max(known.get(streamId)!, body.lastVersion))
                attempts.push({
                  streamId,
                  expectedVersion: expected,
                  events,
                  registry: Registry.registry,
                  outcome: sent.status === 200
                    ? { _tag: "Acknowledged", result: body }
                    : sent.status === 409
                    ? { _tag: "Rejected", error: body._tag }
                    : { _tag: "Unknown" }
                })
                return sent
              }))
            }
          })
        for (const streamId of streams) {
          const registered = postOnce(`${server.url}/streams/${streamId}/events`, {
            expectedVersion: "noStream",
            events: [{ id: `${streamId}-registered`, type: "ClientRegistered", data: { name: streamId, value: 1 } }]
          }, server.stopping)
          expect((yield* Effect.promise(() => registered.outcome)).status).toBe(200)
          attempts.push({
            streamId,
            expectedVersion: ExpectedVersion.noStream,
            events: [{
              id: Event.EventId.make(`${streamId}-registered`),
              type: "ClientRegistered",
              data: { name: streamId, value: 1 }
            }],
            registry: Registry.registry,
            outcome: {
              _tag: "Acknowledged",
              result: { streamId, firstVersion: 1, lastVersion: 1, rebasedOver: 0 } as EventStore.AppendResult
            }
          })
        }
        // Twenty clients append until the service is told to stop.
        const load = yield* Effect.fork(Effect.forEach(Array.from({ length: 20 }, (_, i) => i), (client) =>
          Effect.gen(function*() {
            for (let i = 0; !server.stopping(); i++) {
              yield* Effect.flatMap(appendOnce(`c${client}-${i}`), (a) => a.answered)
            }
          }), { concurrency: "unbounded" }))
        yield* Effect.sync(() =>
          attempts.filter((a) => a.outcome._tag === "Acknowledged").length
        ).pipe(
          Effect.repeat({ schedule: Schedule.spaced("10 millis"), until: (n) => n >= 100 })
        )
        // A burst sent in full just before the signal: the service has these in hand when it is told to stop.
        const burst = yield* Effect.forEach(Array.from({ length: 20 }, (_, i) => i), (i) => appendOnce(`burst-${i}`))
        yield* Effect.promise(() => Promise.all(burst.map((b) => b.written)))
        const code = yield* Effect.promise(() => server.stop("SIGTERM"))
        const answered = yield* Effect.all(burst.map((b) => b.answered), { concurrency: "unbounded" })
        yield* Fiber.join(load)
        expect(code).toBe(0)
        // Every request sent before the signal, the burst's included, got a real answer.
        expect(answered.filter((sent) => sent.status !== 200 && sent.status !== 409)).toEqual([])
        const before = outcomes.filter((sent) => sent.sentBeforeStop)
        expect(before.filter((sent) => sent.status !== 200 && sent.status !== 409)).toEqual([])
        // Read what the stopped service left, through a fresh one on the same file.
        const again = yield* Effect.promise(() => startServer(["--db", database, "--registry", registryFile]))
        const logs = yield* Checker.readLogs(streams).pipe(Effect.provide(clientOf(again.url, false)))
        yield* Effect.promise(() => again.stop())
        expect(Checker.check({ logs, attempts })).toEqual([])
        expect(attempts.filter((a) => a.outcome._tag === "Acknowledged").length).toBeGreaterThanOrEqual(100)
      }),
    120_000
  )
})

const pgUrl = inject("pgUrl")

describe.skipIf(pgUrl === undefined)(postgresSuites.twoServers, () => {
  it.live("clients spread across both: nothing lost, duplicated or falsely accepted", () =>
    Effect.gen(function*() {
      const servers = yield* Effect.promise(() =>
        Promise.all([0, 1].map(() => startServer(["--postgres", pgUrl ?? "", "--registry", registryFile])))
      )
      const streams = ["client-cluster-a", "client-cluster-b", "client-cluster-c"]
      const attempts: Array<Checker.Attempt> = []
      const logs = yield* concurrentClients({
        urls: servers.map((s) => s.url),
        streams,
        clients: 40,
        appendsEach: 8,
        attempts
      })
      yield* Effect.promise(() => Promise.all(servers.map((s) => s.stop())))
      expect(Checker.check({ logs, attempts })).toEqual([])
      const acknowledged = attempts.filter((a) => a.outcome._tag === "Acknowledged")
      expect(acknowledged.some((a) => a.outcome._tag === "Acknowledged" && a.outcome.result.rebasedOver > 0)).toBe(true)
      expect(attempts.some((a) => a.outcome._tag === "Rejected" && a.outcome.error === "ConcurrencyConflict")).toBe(
        true
      )
    }), 180_000)

  it.live(
    "an append behind a lock held elsewhere answers 503 after --lock-timeout-ms, and the service goes on",
    () =>
      Effect.gen(function*() {
        const server = yield* Effect.promise(() => startServer(["--postgres", pgUrl ?? "", "--lock-timeout-ms", "200"]))
        const url = `${server.url}/streams/client-held-lock/events`
        const append = (expectedVersion: unknown) =>
          Effect.promise(() =>
            postOnce(url, { expectedVersion, events: [{ type: "MeetingNoteAdded", data: {} }] }, server.stopping)
              .outcome
          )
        expect((yield* append("any")).status).toBe(200)
        // psql holds the stream's row lock in an open transaction until its input ends.
        const psql = spawn(path.join(Postgres.binaries()!, "psql"), ["-At", "-v", "ON_ERROR_STOP=1", pgUrl ?? ""], {
          stdio: ["pipe", "pipe", "inherit"]
        })
        const locked = new Promise<void>((resolve) =>
          psql.stdout.on("data", (chunk) => String(chunk).includes("held") && resolve())
        )
        psql.stdin.write(
          "BEGIN; SELECT 'held' FROM concord_streams WHERE stream_id = 'client-held-lock' FOR UPDATE;\n"
        )
        yield* Effect.promise(() => locked)
        const refused = yield* append("any")
        psql.stdin.end("COMMIT;\n")
        yield* Effect.promise(() => new Promise((resolve) => psql.on("exit", resolve)))
        expect(refused.status).toBe(503)
        expect(JSON.parse(refused.body)).toMatchObject({ _tag: "ServiceUnavailable" })
        expect(refused.body).not.toMatch(/SELECT|INSERT|lock|\n\s+at /i)
        expect((yield* append(1)).status).toBe(200)
        expect(yield* Effect.promise(() => server.stop())).toBe(0)
      }),
    60_000
  )
})
