import * as Arr from "effect/Array"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as FiberId from "effect/FiberId"
import * as FiberRef from "effect/FiberRef"
import * as FiberRefs from "effect/FiberRefs"
import * as HashMap from "effect/HashMap"
import * as HashSet from "effect/HashSet"
import * as Inspectable from "effect/Inspectable"
import * as Layer from "effect/Layer"
import * as List from "effect/List"
import * as Logger from "effect/Logger"
import type * as LogLevel from "effect/LogLevel"
import * as LogSpan from "effect/LogSpan"
import * as Option from "effect/Option"
import * as Tracer from "effect/Tracer"
import { inspect } from "node:util"

/** Past this many characters waiting, the lines are written at once. */
const maxBuffered = 64 * 1024

/** The outputs holding lines not written yet. */
const pending = new Set<() => void>()

/**
 * Writes every line an output of {@link make} still holds: for what prints to stdout otherwise, so that it comes
 * after the lines logged before it.
 *
 * @internal
 */
export const flushPending = (): void => {
  for (const flush of [...pending]) flush()
}

/** How long a line may wait for others to be written with. */
const maxWaitMillis = 10

/**
 * Lines gathered and written together: each `line` is kept, and everything kept is written in one piece at most 10
 * milliseconds after the first of them, or at once past 64 KB, or by `flush` (and {@link flushPending}). A busy service
 * logs a line per append: written through `console.log`, each line is a system call of its own (stdout is written
 * synchronously to a pipe or a file), which costs an append more than everything else about its line, and blocks the
 * event loop meanwhile; gathered for a few milliseconds, they take one.
 *
 * @internal
 */
export const make = (write: (text: string) => void) => {
  let buffered = ""
  let scheduled: ReturnType<typeof setTimeout> | undefined
  const flush = (): void => {
    if (scheduled !== undefined) clearTimeout(scheduled)
    scheduled = undefined
    pending.delete(flush)
    if (buffered === "") return
    const text = buffered
    buffered = ""
    write(text)
  }
  const line = (text: string): void => {
    buffered += `${text}\n`
    if (buffered.length > maxBuffered) {
      flush()
    } else if (scheduled === undefined) {
      // Written on the way out too (see layerStdout): the wait keeps no process alive.
      scheduled = setTimeout(flush, maxWaitMillis).unref()
      pending.add(flush)
    }
  }
  return { line, flush }
}

const levelColors: Record<LogLevel.LogLevel["_tag"], ReadonlyArray<string>> = {
  None: [],
  All: [],
  Trace: ["90"],
  Debug: ["34"],
  Info: ["32"],
  Warning: ["33"],
  Error: ["31"],
  Fatal: ["101", "30"]
}

const painted = (text: string, codes: ReadonlyArray<string>) =>
  `${codes.map((code) => `\x1b[${code}m`).join("")}${text}\x1b[0m`

const timeOf = (date: Date) =>
  `${String(date.getHours()).padStart(2, "0")}:${String(date.getMinutes()).padStart(2, "0")}:` +
  `${String(date.getSeconds()).padStart(2, "0")}.${String(date.getMilliseconds()).padStart(3, "0")}`

/**
 * A value after the first on a `console.log` line: a string as it is, anything else inspected; a number or a boolean
 * (most annotations) written as `inspect` writes it without its machinery.
 */
const shown = (value: unknown, colors: boolean) => {
  if (typeof value === "string") return value
  if (typeof value !== "number" && typeof value !== "boolean") return inspect(value, { colors })
  const text = Object.is(value, -0) ? "-0" : String(value)
  return colors ? `\x1b[33m${text}\x1b[39m` : text
}

/** A line inside a `console.group`: every line of it indented. */
const grouped = (text: string) => `  ${text.replace(/\n/g, "\n  ")}`

/**
 * A log entry as the platform's pretty logger prints it on a terminal, in one string: the first line with its time,
 * level, fiber, spans and message, then the cause, the other parts of the message and each annotation, indented.
 * That logger, the one `NodeRuntime.runMain` installs, prints the same text through one `console.log` per line.
 *
 * @internal
 */
export const pretty = (
  options: Logger.Logger.Options<unknown>,
  colors: { readonly labels: boolean; readonly values: boolean }
): string => {
  const color = colors.labels ? painted : (text: string) => text
  const message = Arr.ensure(options.message)
  let first = `${color(`[${timeOf(options.date)}]`, ["37"])} ${
    color(options.logLevel.label, levelColors[options.logLevel._tag])
  } (${FiberId.threadName(options.fiberId)})`
  const now = options.date.getTime()
  for (const span of options.spans) first += ` ${LogSpan.render(now)(span)}`
  first += ":"
  let at = 0
  if (message.length > 0 && typeof message[0] === "string") {
    first += ` ${color(message[0], ["1", "36"])}`
    at = 1
  }
  const lines = [first]
  if (!Cause.isEmpty(options.cause)) lines.push(grouped(Cause.pretty(options.cause, { renderErrorCause: true })))
  for (; at < message.length; at++) lines.push(grouped(shown(Inspectable.redact(message[at]), colors.values)))
  for (const [key, value] of HashMap.toEntries(options.annotations)) {
    lines.push(grouped(`${color(`${key}:`, ["1", "37"])} ${shown(Inspectable.redact(value), colors.values)}`))
  }
  return lines.join("\n")
}

/** A value as JSON takes it: a bigint as its digits, an error as its name and message; redacted wherever it is. */
const jsonSafe = (_key: string, value: unknown): unknown => {
  const redacted = Inspectable.redact(value)
  if (typeof redacted === "bigint") return redacted.toString()
  if (redacted instanceof Error) return `${redacted.name}: ${redacted.message}`
  return redacted
}

/**
 * A value JSON can hold: as it is, or, when it contains itself, as `inspect` writes it on one line. Checked for
 * objects only: most values logged are strings and numbers.
 */
const jsonable = (value: unknown): unknown => {
  if (typeof value !== "object" || value === null) return value
  try {
    JSON.stringify(value, jsonSafe)
    return value
  } catch {
    return inspect(Inspectable.redact(value), { breakLength: Infinity, depth: 4 })
  }
}

/**
 * A log entry as one line of JSON: `timestamp` (ISO 8601), `level` (as the pretty logger labels it), `fiber`,
 * `message` (the message's first part when it is a string), then only when there are some: `details` (the message's
 * other parts), `spans` (each log span's milliseconds so far), `annotations`, `cause` (pretty-printed), and `traceId`
 * and `spanId` of the span the entry was logged in. Every value is redacted as the pretty logger redacts it.
 *
 * @internal
 */
export const json = (options: Logger.Logger.Options<unknown>): string => {
  const message = Arr.ensure(options.message)
  const first = message.length > 0 && typeof message[0] === "string" ? 1 : 0
  const entry: Record<string, unknown> = {
    timestamp: options.date.toISOString(),
    level: options.logLevel.label,
    fiber: FiberId.threadName(options.fiberId),
    message: first === 1 ? message[0] : ""
  }
  if (message.length > first) entry.details = message.slice(first).map(jsonable)
  if (List.isCons(options.spans)) {
    const now = options.date.getTime()
    const spans: Record<string, number> = {}
    for (const span of options.spans) spans[span.label] = now - span.startTime
    entry.spans = spans
  }
  if (HashMap.size(options.annotations) > 0) {
    const annotations: Record<string, unknown> = {}
    for (const [key, value] of options.annotations) annotations[key] = jsonable(value)
    entry.annotations = annotations
  }
  if (!Cause.isEmpty(options.cause)) entry.cause = Cause.pretty(options.cause, { renderErrorCause: true })
  const span = Context.getOption(FiberRefs.getOrDefault(options.context, FiberRef.currentContext), Tracer.ParentSpan)
  if (Option.isSome(span)) {
    entry.traceId = span.value.traceId
    entry.spanId = span.value.spanId
  }
  return JSON.stringify(entry, jsonSafe)
}

/**
 * The formats of the log lines: the pretty logger's text, or one JSON object per line (see {@link json}).
 *
 * @internal
 */
export type Format = "pretty" | "json"

/**
 * The log lines in `format`, written to stdout by {@link make}, in a write every few milliseconds instead of one per
 * line. They take the place of the pretty logger (which `NodeRuntime.runMain` installs) or of the default one; the
 * pretty ones are the same text, colored on a terminal as it is. What is still waiting is written when the layer is
 * released and when the process exits, whichever comes first, so that no line is lost on the way out.
 *
 * @internal
 */
export const layerStdoutWith = (format: Format): Layer.Layer<never> =>
  Layer.scopedDiscard(Effect.gen(function*() {
    const output = make((text) => process.stdout.write(text))
    // As the pretty logger paints its labels, and as `console.log` inspects values.
    const colors = {
      labels: process.stdout.isTTY === true,
      values: process.stdout.isTTY === true && process.stdout.hasColors()
    }
    const onExit = () => output.flush()
    process.on("exit", onExit)
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        process.off("exit", onExit)
        output.flush()
      })
    )
    if (format === "json") {
      announcer = (text, fiber) => {
        output.line(JSON.stringify({ timestamp: new Date().toISOString(), level: "INFO", fiber, message: text }))
        output.flush()
      }
      yield* Effect.addFinalizer(() => Effect.sync(() => (announcer = undefined)))
    }
    const logger = Logger.make(
      format === "json"
        ? (options) => output.line(json(options))
        : (options) => output.line(pretty(options, colors))
    )
    yield* Effect.locallyScopedWith(FiberRef.currentLoggers, (loggers) =>
      loggers.pipe(
        HashSet.remove(Logger.defaultLogger),
        HashSet.remove(Logger.prettyLoggerDefault),
        HashSet.add(logger)
      ))
  }))

/** How {@link announce} writes while JSON lines are written to stdout: as one of them. */
let announcer: ((text: string, fiber: string) => void) | undefined

/**
 * Writes a line scripts wait for (the address the service listens on) to stdout whatever the log level, after the
 * lines waiting to be written: as a JSON log line of level INFO while {@link layerStdoutWith} writes JSON, so that
 * every line of stdout parses, and as plain text otherwise.
 *
 * @internal
 */
export const announce = (text: string): Effect.Effect<void> =>
  Effect.withFiberRuntime((fiber) =>
    Effect.sync(() => {
      flushPending()
      if (announcer === undefined) console.log(text)
      else announcer(text, FiberId.threadName(fiber.id()))
    })
  )

/**
 * The pretty logger's lines, written to stdout by {@link make} (see {@link layerStdoutWith}).
 *
 * @internal
 */
export const layerStdout: Layer.Layer<never> = layerStdoutWith("pretty")
