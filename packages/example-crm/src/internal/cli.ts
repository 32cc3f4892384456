import { ValidationError } from "@effect/cli"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Cause from "effect/Cause"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import type * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"

/** What went wrong, in one line: the error's message, and its cause's when it has one. */
const describe = (error: unknown): string => {
  const message = typeof error === "object" && error !== null && "message" in error
    ? String(error.message)
    : String(error)
  const cause = (error as { cause?: unknown } | null)?.cause
  const because = cause instanceof Error && cause.message !== "" && !message.includes(cause.message)
    ? `: ${cause.message}`
    : ""
  return `${message}${because}`.replace(/\s*\n\s*/g, " ")
}

/**
 * Runs a command line program of the example. The command line prints its own usage errors; any other failure, and
 * any defect, is said in one line on stderr, without a stack trace, and the process exits non-zero. Logs below
 * `logLevel` are left out (the demo keeps only warnings: a consumer's routine messages would get in the story's way).
 *
 * @internal
 */
export const runMain = <E>(
  name: string,
  program: Effect.Effect<void, E, NodeContext.NodeContext>,
  logLevel: LogLevel.LogLevel
): void =>
  program.pipe(
    Effect.tapErrorCause((cause) => {
      if (Cause.isInterruptedOnly(cause)) return Effect.void
      const failure = Cause.failureOption(cause)
      if (Option.isSome(failure) && ValidationError.isValidationError(failure.value)) return Effect.void
      const error = Option.orElse(failure, () => Cause.dieOption(cause))
      return Console.error(
        `${name}: ${Option.isSome(error) ? describe(error.value) : Cause.pretty(cause).split("\n")[0]}`
      )
    }),
    Logger.withMinimumLogLevel(logLevel),
    Effect.provide(NodeContext.layer),
    NodeRuntime.runMain({ disableErrorReporting: true })
  )
