import { Event, Position } from "@concord/core"
import { Programs } from "@concord/test-postgres"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Either, Schema } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { formatJson, formatLine, parseAfter, parseList } from "../src/internal/tail.js"
import { appendAny, getJson } from "./support/http.js"
import { runConcord, type Running, startServer } from "./support/server.js"
import { readUntil } from "./support/sse.js"

const bin = fileURLToPath(new URL("../src/bin.ts", import.meta.url))
const directory = fs.mkdtempSync(path.join(os.tmpdir(), "concord-tail-"))
const token = "tail-token-0123456789"
const auth = { authorization: `Bearer ${token}` }

/** A running `concord tail`: what it has printed so far, and ways to wait for more and to stop it. */
interface Tail {
  readonly process: ChildProcess
  readonly lines: () => ReadonlyArray<string>
  readonly stderr: () => string
  readonly exited: Promise<number | null>
  readonly waitForLines: (count: number) => Promise<ReadonlyArray<string>>
}

const tails: Array<Tail> = []

// The tests say where the service is and which token it takes: none of the environment's own.
const { CONCORD_TOKEN: _token, CONCORD_URL: _url, ...inherited } = process.env

/** Starts `concord tail <args>` as a real process, as the end-to-end tests start `concord serve`. */
const startTail = (args: ReadonlyArray<string>, env: Record<string, string> = {}): Tail => {
  const child = spawn(process.execPath, [Programs.program(bin), "tail", ...args], {
    env: { ...inherited, ...env },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let stdout = ""
  let stderr = ""
  child.stdout.on("data", (chunk) => (stdout += String(chunk)))
  child.stderr.on("data", (chunk) => (stderr += String(chunk)))
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
  // Whole lines only: a line is printed when its newline is.
  const lines = () => stdout.split("\n").slice(0, -1)
  const tail: Tail = {
    process: child,
    lines,
    stderr: () => stderr,
    exited,
    waitForLines: async (count) => {
      const deadline = Date.now() + 45_000
      while (lines().length < count) {
        if (child.exitCode !== null) throw new Error(`concord tail exited with ${child.exitCode}: ${stderr}`)
        if (Date.now() > deadline) throw new Error(`concord tail printed ${lines().length} lines, not ${count}`)
        await new Promise((resolve) => setTimeout(resolve, 25))
      }
      return lines()
    }
  }
  tails.push(tail)
  return tail
}

/** The global log as `GET /events` returns it: each event's JSON, parsed but not decoded. */
const wireLog = async (url: string): Promise<Array<Record<string, any>>> => {
  const page = await getJson(`${url}/events?limit=10000`, auth)
  expect(page.status).toBe(200)
  return page.body.events
}

/** The line the plain format prints for an event of the wire, for these tests' ids and types. */
const plainLine = (event: Record<string, any>) =>
  `${event.position}  ${event.streamId}@${event.version}  ${event.type}  ${JSON.stringify(event.data)}`

const append = (url: string, streamId: string, type: string, data: unknown) =>
  appendAny(url, streamId, [{ type, data }], auth)

describe("concord tail, as real processes against a real service", () => {
  let server: Running
  /** The positions of the events appended before any tail started. */
  let before: Array<string>
  let newOnly: Tail, fromStart: Tail, afterFirst: Tail, filtered: Tail, piped: Tail

  beforeAll(async () => {
    // A short keep-alive: the tails print events only, never the comment lines between them.
    server = await startServer(["--db", path.join(directory, "tail.db"), "--token", token, "--keep-alive-ms", "100"])
    await append(server.url, "order-1", "OrderPlaced", { sku: "a b", qty: 1 })
    await append(server.url, "order-1", "ItemAdded", { sku: "c", qty: 2 })
    await append(server.url, "client-1", "ClientRegistered", { name: "Acme" })
    before = (await wireLog(server.url)).map((event) => event.position)
    // Started together: each takes a while to load, and they have nothing to wait for from one another.
    newOnly = startTail([], { CONCORD_URL: server.url, CONCORD_TOKEN: token })
    fromStart = startTail(["--url", server.url, "--token", token, "--after", "0", "--json"])
    afterFirst = startTail(["--url", `${server.url}/`, "--token", token, "--after", before[0]!])
    filtered = startTail([
      "--url",
      server.url,
      "--token",
      token,
      "--after",
      "0",
      "--types",
      "ItemAdded",
      "--types",
      "ClientRegistered,Unknown",
      "--categories",
      "order, other"
    ])
    piped = startTail(["--url", server.url, "--token", token, "--after", "0"])
  }, 90_000)
  afterAll(async () => {
    for (const tail of tails) if (tail.process.exitCode === null) tail.process.kill("SIGKILL")
    await server?.stop()
  })

  it(
    "without --after prints only the events committed after it started, each as it commits, in log order",
    async () => {
      // It prints nothing until an event commits: events are appended until one shows that it follows the log.
      const deadline = Date.now() + 60_000
      for (let probe = 0; newOnly.lines().length === 0; probe++) {
        expect(Date.now() < deadline && newOnly.process.exitCode === null, newOnly.stderr()).toBe(true)
        await append(server.url, `probe-${probe}`, "Probed", {})
        await new Promise((resolve) => setTimeout(resolve, 200))
      }
      // Each event is on the output before the next is appended: nothing waits in a buffer.
      for (const [i, type] of ["ItemAdded", "OrderShipped", "ClientRenamed"].entries()) {
        const printed = newOnly.lines().length
        await append(server.url, i === 2 ? "client-1" : "order-1", type, { step: i, note: "line\nbreak" })
        await newOnly.waitForLines(printed + 1)
      }
      // Every append above was awaited and the last one printed: the output holds the log from its first line on.
      const log = await wireLog(server.url)
      const lines = newOnly.lines()
      const first = log.findIndex((event) => plainLine(event) === lines[0])
      expect(first).toBeGreaterThanOrEqual(before.length)
      expect(lines).toEqual(log.slice(first).map(plainLine))
      expect(lines.at(-1)).toMatch(/^\d+ {2}client-1@2 {2}ClientRenamed {2}\{"step":2,"note":"line\\nbreak"\}$/)
      expect(newOnly.stderr()).toBe("")
    },
    90_000
  )

  it("--json prints each event exactly as GET /events returns it; --after 0 starts from the start", async () => {
    const log = await wireLog(server.url)
    const lines = await fromStart.waitForLines(log.length)
    expect(lines.map((line) => JSON.parse(line))).toEqual(log)
    expect(lines[0]).toBe(JSON.stringify(log[0]))
  }, 60_000)

  it("--after <position> starts right after that position", async () => {
    const log = await wireLog(server.url)
    const lines = await afterFirst.waitForLines(log.length - 1)
    expect(lines[0]).toBe(`${before[1]}  order-1@2  ItemAdded  {"sku":"c","qty":2}`)
    expect(lines).toEqual(log.slice(1).map(plainLine))
  }, 60_000)

  it("--types and --categories (repeatable, comma-separated) print only the matching events", async () => {
    const log = await wireLog(server.url)
    const expected = log.filter((event) =>
      ["ItemAdded", "ClientRegistered"].includes(event.type) && event.streamId.startsWith("order-")
    )
    expect(expected.length).toBe(2)
    await filtered.waitForLines(expected.length)
    // A last event that matches: once it is printed, every matching event before it has been too.
    await append(server.url, "other-9", "ItemAdded", {})
    const lines = await filtered.waitForLines(expected.length + 1)
    expect(lines).toEqual([...expected, ...(await wireLog(server.url)).slice(-1)].map(plainLine))
  }, 60_000)

  it("ends quietly with 0 when the reader of its output goes away", async () => {
    await piped.waitForLines(1)
    piped.process.stdout!.destroy()
    await append(server.url, "order-2", "OrderPlaced", {})
    await append(server.url, "order-2", "OrderPlaced", {})
    expect(await piped.exited).toBe(0)
    expect(piped.stderr()).toBe("")
  }, 60_000)

  it("SIGINT and SIGTERM end it with exit code 0", async () => {
    newOnly.process.kill("SIGINT")
    fromStart.process.kill("SIGTERM")
    expect(await newOnly.exited).toBe(0)
    expect(await fromStart.exited).toBe(0)
    expect(newOnly.stderr()).toBe("")
  }, 60_000)

  it("a wrong token, or a bad --after, exits non-zero at once with one line saying why", async () => {
    const [refused, bad] = await Promise.all([
      runConcord(["tail", "--url", server.url, "--token", "not-the-token-0123456789"]),
      runConcord(["tail", "--url", server.url, "--token", token, "--after", "12x"])
    ])
    expect(refused.code).not.toBe(0)
    expect(refused.stderr).toMatch(
      /^concord: cannot follow the log at http:\/\/\S+: the service answered 401: .*--token or CONCORD_TOKEN\)\n$/
    )
    expect(bad.code).not.toBe(0)
    expect(`${bad.stdout}${bad.stderr}`.trim()).toBe(
      `--after takes a position or "end": a position is "<sequence>" or "<commit>.<sequence>" in decimal, ` +
        `each part from 0 to 2^64 - 1, not "12x"`
    )
  }, 60_000)
})

describe("concord tail's options and lines", () => {
  const wire = {
    id: "0b7c1f7e-8a2e-4a63-9d0a-0d5f3c1e2a11",
    streamId: "order-7",
    version: 3,
    type: "ItemAdded",
    data: { sku: "x", qty: 2, nested: { a: [1, null] } },
    metadata: { by: "tests" },
    recordedAt: "2026-01-02T03:04:05.678Z",
    position: "7731.42"
  }
  const event = Schema.decodeUnknownSync(Event.RecordedEvent)(wire)
  const shown = (parsed: Either.Either<Position.Position | "end", string>) =>
    Either.map(parsed, (start) => start === "end" ? start : Position.toString(start))

  it("a plain line is position, stream@version, type and compact data, two spaces apart", () => {
    expect(formatLine(event)).toBe(`7731.42  order-7@3  ItemAdded  {"sku":"x","qty":2,"nested":{"a":[1,null]}}`)
  })

  it("a stream id or type that would break the line apart is printed as a JSON string", () => {
    expect(formatLine({ ...event, streamId: "order 7\nx" as typeof event.streamId, type: "Item\tAdded", data: "a\nb" }))
      .toBe(`7731.42  "order 7\\nx"@3  "Item\\tAdded"  "a\\nb"`)
  })

  it("a JSON line is the event as the API encodes it, field for field and in the same order", () => {
    expect(formatJson(event)).toBe(JSON.stringify(wire))
  })

  it("--after takes end or a position, and names itself when it refuses a value", () => {
    expect(shown(parseAfter("end"))).toEqual(Either.right("end"))
    expect(shown(parseAfter("0"))).toEqual(Either.right("0"))
    expect(shown(parseAfter("7731.42"))).toEqual(Either.right("7731.42"))
    for (const bad of ["", "-1", "1.2.3", "0.5", "start", " 1", "18446744073709551616"]) {
      const parsed = parseAfter(bad)
      expect(Either.isLeft(parsed) ? parsed.left : "accepted", bad).toMatch(/^--after takes a position or "end": /)
    }
  })

  it("a list flag is its values split at commas, trimmed, without repeats; given but empty, it is refused", () => {
    expect(parseList("types", [])).toEqual(Either.right(undefined))
    expect(parseList("types", ["A,B", " C ", "A"])).toEqual(Either.right(["A", "B", "C"]))
    expect(parseList("categories", [" , "])).toEqual(
      Either.left("--categories takes a comma-separated list that is not empty")
    )
  })
})

describe("concord serve --keep-alive-ms", () => {
  it("a silent subscription gets a comment line every interval", async () => {
    const server = await startServer(["--db", path.join(directory, "keep-alive.db"), "--keep-alive-ms", "100"])
    try {
      const started = Date.now()
      const read = await readUntil(
        `${server.url}/events/subscribe?after=end`,
        (messages) => messages.filter((m) => m.comment).length >= 5
      )
      // The opening comment, then one every 100 ms: far sooner than the default 15 seconds.
      expect(read.messages.every((m) => m.comment)).toBe(true)
      expect(Date.now() - started).toBeLessThan(10_000)
    } finally {
      await server.stop()
    }
  }, 60_000)

  it("a value out of range, from the flag or the environment, stops it with a message naming the flag", async () => {
    const db = path.join(directory, "keep-alive-bad.db")
    const cases = [
      [["serve", "--db", db, "--port", "0", "--keep-alive-ms", "5"], {}],
      [["serve", "--db", db, "--port", "0", "--keep-alive-ms", "30001"], {}],
      [["serve", "--db", db, "--port", "0"], { CONCORD_KEEP_ALIVE_MS: "0" }]
    ] as const
    // Started together: each process is seconds of loading that waits on nothing from the others.
    const runs = await Promise.all(cases.map(([args, env]) => runConcord(args, env)))
    for (const { code, stdout, stderr } of runs) {
      expect(code).not.toBe(0)
      expect(`${stdout}${stderr}`).toContain("--keep-alive-ms must be between 10 and 30000")
    }
  }, 60_000)
})
