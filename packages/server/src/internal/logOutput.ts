import * as Arr from "effect/Array"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as FiberId from "effect/FiberId"
import * as FiberRef from "effect/FiberRef"
import * as HashMap from "effect/HashMap"
import * as HashSet from "effect/HashSet"
import * as Inspectable from "effect/Inspectable"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import type * as LogLevel from "effect/LogLevel"
import * as LogSpan from "effect/LogSpan"
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

/**
 * The pretty logger's lines, written to stdout by {@link make}: the same text, colored on a terminal as it is, in a
 * write every few milliseconds instead of one per line. It takes the place of the pretty logger (which
 * `NodeRuntime.runMain` installs) or of the default one. What is still waiting is written when the layer is released
 * and when the process exits, whichever comes first, so that no line is lost on the way out.
 *
 * @internal
 */
export const layerStdout: Layer.Layer<never> = Layer.scopedDiscard(Effect.gen(function*() {
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
  const logger = Logger.make((options) => output.line(pretty(options, colors)))
  yield* Effect.locallyScopedWith(FiberRef.currentLoggers, (loggers) =>
    loggers.pipe(
      HashSet.remove(Logger.defaultLogger),
      HashSet.remove(Logger.prettyLoggerDefault),
      HashSet.add(logger)
    ))
}))
