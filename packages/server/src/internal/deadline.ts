import { EventStore } from "@concord/core"
import { HttpApiBuilder, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import { globalValue } from "effect/GlobalValue"
import * as Schema from "effect/Schema"
import { ConcordApi, ServiceUnavailable } from "../Api.js"
import { abandonAfter } from "./abandon.js"
import * as routing from "./routing.js"

/**
 * How far a request has got, and whether its deadline has answered: the answer says whether the store was called,
 * and once it has said so the store is not called any more. Both are read and set synchronously, so no fiber runs
 * between a check and its setting.
 */
interface Progress {
  storeCalled: boolean
  answered: boolean
}

const currentProgress = globalValue(
  Symbol.for("@concord/server/internal/deadline/currentProgress"),
  () => FiberRef.unsafeMake<Progress | undefined>(undefined)
)

/**
 * The longest deadline in milliseconds: Node's timers take none longer (they run a longer one at once), and Effect's
 * clock never fires one.
 *
 * @internal
 */
export const maxMillis = 2 ** 31 - 1

/**
 * Marks the request as having called the store to write: from then on, an append answered at the deadline may have
 * been committed. Once the deadline has answered (saying the store was not called), it is interrupted instead, even
 * in an uninterruptible region, so that the store is never called: a handler already queued when the deadline fired
 * runs after the answer, and the interruption sent to it may only land after an uninterruptible store call began.
 *
 * @internal
 */
export const callingStore: Effect.Effect<void> = Effect.flatMap(
  FiberRef.get(currentProgress),
  (progress) =>
    Effect.suspend(() => {
      if (progress === undefined) return Effect.void
      if (progress.answered) return Effect.interrupt
      progress.storeCalled = true
      return Effect.void
    })
)

/**
 * Whether the whole request has arrived. On Node, stopping the reading of a body destroys its socket, and with it the
 * answer: the reading of an unfinished body is left to fail when the connection closes after the answer.
 */
const received = (request: HttpServerRequest.HttpServerRequest): boolean => {
  const source: unknown = NodeHttpServerRequest.toIncomingMessage(request)
  return typeof source !== "object" || source === null || !("complete" in source) || source.complete === true
}

/**
 * The stream an append request (`POST /streams/:streamId/events`) is for, from its URL: the router's match is not
 * known outside the handler, and a request whose body has not arrived never reaches it, so this reads the path by the
 * router's rules (see {@link routing}): fixed segments match percent-decoded and in the same letter case, and the
 * stream id, kept as written, is percent-decoded; slashes are not merged, so `/streams//events` is the empty id's. A
 * URL the router could not decode is no append.
 *
 * @internal
 */
export const appendedStream = (method: string, url: string): string | undefined => {
  if (method !== "POST") return undefined
  const [root, streams, streamId, events, ...rest] = routing.pathOf(url).split("/")
  return root === "" && rest.length === 0 && streamId !== undefined && routing.isFixedSegment(streams, "streams") &&
      routing.isFixedSegment(events, "events")
    ? routing.parameterValue(streamId)
    : undefined
}

const encodeAppendTimeout = Schema.encodeSync(EventStore.AppendTimeout)
const encodeUnavailable = Schema.encodeSync(ServiceUnavailable)

/**
 * Runs `effect` for at most `timeout`, as {@link abandonAfter} does, keeping track of whether it called the store
 * (see {@link callingStore}): at the deadline, `answer` is told whether the append may have been committed, and from
 * then on the abandoned work cannot call the store any more, whether it is interrupted or left running.
 *
 * @internal
 */
export const withDeadline = <A, E, R, B, E2>(
  effect: Effect.Effect<A, E, R>,
  timeout: Duration.Duration,
  answer: (mayHaveCommitted: boolean) => Effect.Effect<B, E2>,
  options?: { readonly interruptAbandoned?: () => boolean }
): Effect.Effect<A | B, E | E2, R> => {
  const progress: Progress = { storeCalled: false, answered: false }
  // Set in the fiber the effect runs in, of its own (see abandonAfter): nothing to restore after it.
  return abandonAfter(Effect.zipRight(FiberRef.set(currentProgress, progress), effect), timeout, () => {
    // In one step: a store called after this is refused, one called before is in the answer.
    progress.answered = true
    return answer(progress.storeCalled)
  }, options)
}

/**
 * What the answer to a request its deadline reached says, and what its log line is annotated with: `AppendTimeout`
 * for an append (which may have been committed once the store was called), `ServiceUnavailable` for anything else,
 * both 503.
 *
 * @internal
 */
export const lateAnswerOf = (method: string, url: string, mayHaveCommitted: boolean, millis: number) => {
  const streamId = appendedStream(method, url)
  const body = streamId === undefined
    ? encodeUnavailable(
      new ServiceUnavailable({ message: `the service did not answer within ${millis} ms; try again later` })
    )
    : encodeAppendTimeout(new EventStore.AppendTimeout({ streamId, timeoutMillis: millis, mayHaveCommitted }))
  const annotations = {
    method,
    // Its path only: a query is the client's to send anywhere, not the service's to log.
    path: routing.pathOf(url),
    timeoutMillis: millis,
    ...(streamId === undefined ? {} : { mayHaveCommitted })
  }
  return { body, annotations }
}

/**
 * The answer to a request its deadline reached (see {@link lateAnswerOf}), logged. The connection is closed after it:
 * the request's body may not have been read to its end.
 */
const lateAnswer = (request: HttpServerRequest.HttpServerRequest, mayHaveCommitted: boolean, millis: number) =>
  Effect.suspend(() => {
    const { annotations, body } = lateAnswerOf(request.method, request.url, mayHaveCommitted, millis)
    return Effect.as(
      Effect.logWarning("request deadline reached").pipe(Effect.annotateLogs(annotations)),
      HttpServerResponse.unsafeJson(body, { status: 503, headers: { connection: "close" } })
    )
  })

/**
 * Answers every request by `timeout` after the service took it, its body's reading included: what is still running
 * then is abandoned (see {@link withDeadline}) and the request gets a 503. A subscription's deadline covers its start;
 * its body, which lasts, has its own rules.
 *
 * @internal
 */
export const layer = (timeout: Duration.Duration) =>
  HttpApiBuilder.middleware(
    ConcordApi,
    (app) =>
      Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
        withDeadline(
          app,
          timeout,
          (mayHaveCommitted) => lateAnswer(request, mayHaveCommitted, Duration.toMillis(timeout)),
          { interruptAbandoned: () => received(request) }
        ))
  )
