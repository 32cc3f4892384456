// The log output of `concord serve`: the pretty logger's text, each line as `NodeRuntime.runMain`'s pretty logger
// prints it, but gathered and written once per task rather than through a `console.log` per line.
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import type * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as FiberId from "effect/FiberId"
import * as FiberRefs from "effect/FiberRefs"
import * as HashMap from "effect/HashMap"
import * as List from "effect/List"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as LogSpan from "effect/LogSpan"
import { Console as NodeConsole } from "node:console"
import { Writable } from "node:stream"
import * as logOutput from "../src/internal/logOutput.js"

/** What the platform's pretty logger prints for an entry, through a Node console writing to a string. */
const printedByPrettyLogger = (options: Logger.Logger.Options<unknown>, colors: boolean): string => {
  let printed = ""
  const stdout = new Writable({
    write(chunk, _encoding, done) {
      printed += String(chunk)
      done()
    }
  })
  const unsafe = new NodeConsole({ stdout, colorMode: colors, groupIndentation: 2 })
  // The pretty logger uses only the console's `unsafe` side: log, group and groupEnd.
  const console = { unsafe } as unknown as Console.Console
  const logger = Logger.prettyLogger({ colors, mode: "tty" })
  Effect.runSync(Effect.withConsole(
    Effect.withFiberRuntime<void>((fiber) => {
      logger.log({ ...options, context: fiber.getFiberRefs() })
      return Effect.void
    }),
    console
  ))
  return printed.replace(/\n$/, "")
}

const entry = (overrides: Partial<Logger.Logger.Options<unknown>> = {}): Logger.Logger.Options<unknown> => ({
  fiberId: FiberId.make(45, 0),
  logLevel: LogLevel.Info,
  message: "appended",
  cause: Cause.empty,
  context: FiberRefs.unsafeMake(new Map()),
  spans: List.empty(),
  annotations: HashMap.make(
    ["stream", "client-acme"],
    ["firstVersion", 3],
    ["rebasedOver", 0],
    ["ratio", -0.5],
    ["zero", -0],
    ["ok", true],
    ["none", null],
    ["pairs", ["T#0xT@1"]]
  ),
  date: new Date(2026, 0, 2, 3, 4, 5, 6),
  ...overrides
})

describe("log output", () => {
  const entries = {
    "an append": entry(),
    "a warning with a multi-line annotation": entry({
      logLevel: LogLevel.Warning,
      message: "request deadline reached",
      annotations: HashMap.make(["url", "/streams/a\nb/events"], ["timeoutMillis", 600])
    }),
    "an error with its cause, more message parts and a span": entry({
      logLevel: LogLevel.Error,
      message: ["store failure: append to a", { detail: [1, 2] }, 7],
      cause: Cause.fail(new Error("disk full")),
      spans: List.make(LogSpan.make("request", 0)),
      annotations: HashMap.empty()
    }),
    "a message that is no string": entry({ message: { code: 1 }, annotations: HashMap.empty() })
  }

  for (const [name, options] of Object.entries(entries)) {
    for (const colors of [false, true]) {
      it(`renders ${name} as the pretty logger prints it${colors ? ", in color" : ""}`, () => {
        expect(logOutput.pretty(options, { labels: colors, values: colors })).toBe(
          printedByPrettyLogger(options, colors)
        )
      })
    }
  }

  it("writes the lines of a few milliseconds at once, in order, and at once past 64 KB, on flush or when pending", async () => {
    const writes: Array<string> = []
    const output = logOutput.make((text) => writes.push(text))
    output.line("one")
    await new Promise<void>((resolve) => setImmediate(resolve))
    output.line("two")
    expect(writes).toEqual([])
    await new Promise<void>((resolve) => setTimeout(resolve, 50))
    expect(writes).toEqual(["one\ntwo\n"])

    const long = "x".repeat(40 * 1024)
    output.line(long)
    output.line(long)
    expect(writes).toEqual(["one\ntwo\n", `${long}\n${long}\n`])

    output.line("three")
    output.flush()
    expect(writes.at(-1)).toBe("three\n")
    output.line("four")
    logOutput.flushPending()
    expect(writes.at(-1)).toBe("four\n")
    await new Promise<void>((resolve) => setTimeout(resolve, 50))
    expect(writes).toHaveLength(4)
  })

  it.effect("takes the place of the pretty logger, and writes what waits when it is released", () =>
    Effect.gen(function*() {
      const written: Array<string> = []
      const write = process.stdout.write
      process.stdout.write = ((text: string) => {
        written.push(text)
        return true
      }) as typeof process.stdout.write
      try {
        yield* Effect.annotateLogs(Effect.logInfo("appended"), { stream: "a" }).pipe(
          Effect.zipRight(Effect.logWarning("late")),
          Effect.provide(logOutput.layerStdout),
          Effect.provide(Logger.pretty)
        )
      } finally {
        process.stdout.write = write
      }
      expect(written).toHaveLength(1)
      expect(written[0]).toMatch(
        /^\[[\d:.]+\] INFO \(#\d+\): appended\n {2}stream: a\n\[[\d:.]+\] WARN \(#\d+\): late\n$/
      )
    }))
})
