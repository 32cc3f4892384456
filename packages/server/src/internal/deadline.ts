import { EventStore } from "@concord/core"
import { HttpApiBuilder, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import { globalValue } from "effect/GlobalValue"
import * as Schema from "effect/Schema"
import { ConcordApi, ServiceUnavailable } from "../Api.js"

/** How far a request has got: whether its answer at the deadline can say that nothing was written. */
interface Progress {
  storeCalled: boolean
}

const currentProgress = globalValue(
  Symbol.for("@concord/server/internal/deadline/currentProgress"),
  () => FiberRef.unsafeMake<Progress | undefined>(undefined)
)

/**
 * Marks the request as having called the store to write: from then on, an append answered at the deadline may have
 * been committed.
 *
 * @internal
 */
export const callingStore: Effect.Effect<void> = Effect.flatMap(
  FiberRef.get(currentProgress),
  (progress) => Effect.sync(() => progress !== undefined && (progress.storeCalled = true))
)

/**
 * Runs `effect` for at most `duration` without waiting for it past that, as `Effect.disconnect` does: it runs in a
 * fiber of its own, and when the time is up (or the caller is interrupted) that fiber is told to stop and left to end
 * alone; an uninterruptible part of it, such as a store call, goes on in the background. With `interruptAbandoned`
 * returning false at the deadline, the fiber is left running instead, for what will end it anyway. Interruptible even
 * where the caller is not, as in an HTTP handler's fiber.
 *
 * @internal
 */
export const abandonAfter = <A, E, R, B, E2>(
  effect: Effect.Effect<A, E, R>,
  duration: Duration.Duration,
  onTimeout: () => Effect.Effect<B, E2>,
  options?: { readonly interruptAbandoned?: () => boolean }
): Effect.Effect<A | B, E | E2, R> =>
  Effect.uninterruptibleMask(() =>
    Effect.flatMap(Effect.forkDaemon(Effect.interruptible(effect)), (fiber) =>
      // Waiting on the fiber, not running it: a timeout or an interruption here stops the waiting at once.
      Fiber.join(fiber).pipe(
        Effect.timeoutTo({
          duration,
          onSuccess: (value): Effect.Effect<A | B, E2> => Effect.succeed(value),
          onTimeout: (): Effect.Effect<A | B, E2> =>
            Effect.zipRight(
              options?.interruptAbandoned?.() === false ? Effect.void : Fiber.interruptFork(fiber),
              Effect.suspend(onTimeout)
            )
        }),
        Effect.interruptible,
        Effect.onInterrupt(() => Fiber.interruptFork(fiber)),
        Effect.flatten
      ))
  )

/**
 * Whether the whole request has arrived. On Node, stopping the reading of a body destroys its socket, and with it the
 * answer: the reading of an unfinished body is left to fail when the connection closes after the answer.
 */
const received = (request: HttpServerRequest.HttpServerRequest): boolean => {
  const source: unknown = NodeHttpServerRequest.toIncomingMessage(request)
  return typeof source !== "object" || source === null || !("complete" in source) || source.complete === true
}

/** The stream an append request is for, from its path: the router's match is not known outside the handler. */
const appendedStream = (request: HttpServerRequest.HttpServerRequest): string | undefined => {
  if (request.method !== "POST") return undefined
  const match = /^\/streams\/([^/]+)\/events$/.exec(request.url.split("?", 1)[0]!)
  if (match === null) return undefined
  try {
    return decodeURIComponent(match[1]!)
  } catch {
    return undefined
  }
}

const encodeAppendTimeout = Schema.encodeSync(EventStore.AppendTimeout)
const encodeUnavailable = Schema.encodeSync(ServiceUnavailable)

/**
 * The answer to a request its deadline reached: `AppendTimeout` for an append (which may have been committed once
 * the store was called), `ServiceUnavailable` for anything else, both 503. The connection is closed after it: the
 * request's body may not have been read to its end.
 */
const lateAnswer = (request: HttpServerRequest.HttpServerRequest, progress: Progress, millis: number) =>
  Effect.suspend(() => {
    const streamId = appendedStream(request)
    const body = streamId === undefined
      ? encodeUnavailable(
        new ServiceUnavailable({ message: `the service did not answer within ${millis} ms; try again later` })
      )
      : encodeAppendTimeout(
        new EventStore.AppendTimeout({ streamId, timeoutMillis: millis, mayHaveCommitted: progress.storeCalled })
      )
    return Effect.as(
      Effect.logWarning("request deadline reached").pipe(Effect.annotateLogs({
        method: request.method,
        url: request.url,
        timeoutMillis: millis,
        ...(streamId === undefined ? {} : { mayHaveCommitted: progress.storeCalled })
      })),
      HttpServerResponse.unsafeJson(body, { status: 503, headers: { connection: "close" } })
    )
  })

/**
 * Answers every request by `timeout` after the service took it, its body's reading included: what is still running
 * then is abandoned (see {@link abandonAfter}) and the request gets a 503. A subscription's deadline covers its start;
 * its body, which lasts, has its own rules.
 *
 * @internal
 */
export const layer = (timeout: Duration.Duration) =>
  HttpApiBuilder.middleware(ConcordApi, (app) =>
    Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
      const progress: Progress = { storeCalled: false }
      return abandonAfter(
        Effect.locally(app, currentProgress, progress),
        timeout,
        () => lateAnswer(request, progress, Duration.toMillis(timeout)),
        { interruptAbandoned: () => received(request) }
      )
    }))
