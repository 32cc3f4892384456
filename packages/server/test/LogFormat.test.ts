// `--log-format json`: one JSON object a line, through the same buffered output as the pretty lines, with its time,
// level, fiber, message, annotations, spans and cause, every value redacted as the pretty logger redacts it.
import * as Headers from "@effect/platform/Headers"
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as FiberId from "effect/FiberId"
import * as FiberRefs from "effect/FiberRefs"
import * as HashMap from "effect/HashMap"
import * as List from "effect/List"
import type * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as LogSpan from "effect/LogSpan"
import * as Redacted from "effect/Redacted"
import * as logOutput from "../src/internal/logOutput.js"

const secret = "token-SECRET-0123456789"

const entry = (overrides: Partial<Logger.Logger.Options<unknown>> = {}): Logger.Logger.Options<unknown> => ({
  fiberId: FiberId.make(45, 0),
  logLevel: LogLevel.Info,
  message: "appended",
  cause: Cause.empty,
  context: FiberRefs.unsafeMake(new Map()),
  spans: List.empty(),
  annotations: HashMap.make(["stream", "client-acme"], ["firstVersion", 3], ["ok", true], ["none", null]),
  date: new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 6)),
  ...overrides
})

/** Runs `effect` with the JSON lines taking the place of every logger, and returns what was written to stdout. */
const writtenBy = <E>(effect: Effect.Effect<void, E>) =>
  Effect.gen(function*() {
    const written: Array<string> = []
    const write = process.stdout.write
    process.stdout.write = ((text: string) => {
      written.push(text)
      return true
    }) as typeof process.stdout.write
    try {
      yield* effect.pipe(Effect.provide(logOutput.layerStdoutWith("json")))
    } finally {
      process.stdout.write = write
    }
    return written
  })

describe("JSON log lines", () => {
  it("write an entry's time, level, fiber, message and annotations on one line", () => {
    const line = logOutput.json(entry())
    expect(line).not.toContain("\n")
    expect(JSON.parse(line)).toEqual({
      timestamp: "2026-01-02T03:04:05.006Z",
      level: "INFO",
      fiber: "#45",
      message: "appended",
      annotations: { stream: "client-acme", firstVersion: 3, ok: true, none: null }
    })
  })

  it("write the other parts of the message, the spans, and the cause pretty-printed", () => {
    const parsed = JSON.parse(logOutput.json(entry({
      logLevel: LogLevel.Error,
      message: ["store failure: append", { code: 7 }, 2n],
      cause: Cause.fail(new Error("disk full\non two lines")),
      spans: List.make(LogSpan.make("request", Date.UTC(2026, 0, 2, 3, 4, 5, 0))),
      annotations: HashMap.empty()
    })))
    expect(parsed).toMatchObject({
      level: "ERROR",
      message: "store failure: append",
      details: [{ code: 7 }, "2"],
      spans: { request: 6 }
    })
    expect(parsed.cause).toContain("Error: disk full\non two lines")
    expect(parsed).not.toHaveProperty("annotations")
  })

  it("write a message that is no string among the details, and a value that contains itself", () => {
    const loop: Record<string, unknown> = { name: "loop" }
    loop.self = loop
    const parsed = JSON.parse(
      logOutput.json(entry({ message: { code: 1 }, annotations: HashMap.make(["loop", loop]) }))
    )
    expect(parsed.message).toBe("")
    expect(parsed.details).toEqual([{ code: 1 }])
    expect(parsed.annotations.loop).toContain("[Circular")
  })

  it("never write a redacted value: in the message, an annotation, or inside one", () => {
    const token = Redacted.make(secret)
    const line = logOutput.json(entry({
      message: ["checked", token],
      annotations: HashMap.make(["token", token], ["nested", { deep: [token] }])
    }))
    expect(line).not.toContain(secret)
    expect(JSON.parse(line)).toMatchObject({
      details: ["<redacted>"],
      annotations: { token: "<redacted>", nested: { deep: ["<redacted>"] } }
    })
  })

  it.effect("are written through the buffered output, redacted as the fiber's settings say, with the span's ids", () =>
    Effect.gen(function*() {
      const headers = Headers.fromInput({ authorization: `Bearer ${secret}`, accept: "application/json" })
      const written = yield* writtenBy(
        Effect.annotateLogs(Effect.logWarning("slow append"), { stream: "a", headers }).pipe(
          Effect.zipRight(Effect.logInfo("second")),
          Effect.withSpan("concord.append")
        )
      )
      // Both lines in one write.
      expect(written).toHaveLength(1)
      expect(written[0]).not.toContain(secret)
      const lines = written[0]!.split("\n")
      expect(lines.at(-1)).toBe("")
      const [first, second] = lines.slice(0, -1).map((line) => JSON.parse(line))
      expect(first).toMatchObject({
        level: "WARN",
        message: "slow append",
        annotations: { stream: "a", headers: { authorization: "<redacted>", accept: "application/json" } }
      })
      expect(first.traceId).toMatch(/^[0-9a-f]{32}$/)
      expect(first.spanId).toMatch(/^[0-9a-f]{16}$/)
      expect(new Date(first.timestamp).toISOString()).toBe(first.timestamp)
      expect(second).toMatchObject({ level: "INFO", message: "second", spanId: first.spanId })
    }))
})
