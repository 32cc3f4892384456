// The typed client's deadline on each request: a service that cannot answer (partitioned, frozen, gone) keeps no
// caller waiting past it, as the service's own deadline keeps none waiting when its store hangs.
import { EventStore } from "@concord/core"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { abandonAfter } from "./abandon.js"

/**
 * The deadline of the service's answer by default: above the service's own default request deadline, by a margin
 * that leaves room for that deadline to be raised a little.
 *
 * @internal
 */
export const defaultTimeout: Duration.Duration = Duration.seconds(20)

/**
 * A client's deadline from its options: {@link defaultTimeout} by default, at least a millisecond.
 *
 * @internal
 */
export const timeoutOf = (options: { readonly timeout?: Duration.DurationInput | undefined }): Duration.Duration =>
  Duration.max(Duration.decode(options.timeout ?? defaultTimeout), Duration.millis(1))

/**
 * The cause of a `StoreError` for a request the service did not answer in time.
 *
 * @internal
 */
export class TimedOut extends Data.TaggedError("TimedOut")<{ readonly millis: number }> {
  override get message() {
    return `the service did not answer within ${this.millis} ms`
  }
}

/**
 * Runs `request` for at most `timeout`, then fails with `onTimeout()`. The request runs in a fiber of its own, which
 * is interrupted at the deadline (its connection closed) and not waited for, as it is when the caller is interrupted;
 * it runs interruptibly, and the deadline holds, whatever the caller is.
 *
 * @internal
 */
export const within = <A, E, R, E2>(
  request: Effect.Effect<A, E, R>,
  timeout: Duration.Duration,
  onTimeout: () => E2
): Effect.Effect<A, E | E2, R> => abandonAfter(request, timeout, () => Effect.fail(onTimeout()))

/**
 * A read (a page, a version) within `timeout`, or a `StoreError` for `operation` with a {@link TimedOut} cause.
 *
 * @internal
 */
export const read =
  (timeout: Duration.Duration, operation: string) =>
  <A, E, R>(request: Effect.Effect<A, E, R>): Effect.Effect<A, E | EventStore.StoreError, R> =>
    within(
      request,
      timeout,
      () => new EventStore.StoreError({ operation, cause: new TimedOut({ millis: Duration.toMillis(timeout) }) })
    )

/**
 * An append within `timeout`, or an `AppendTimeout` that may have committed: the request was handed to the HTTP
 * client, and nothing tells whether it reached the service and was stored.
 *
 * @internal
 */
export const append =
  (timeout: Duration.Duration, streamId: string) =>
  <A, E, R>(request: Effect.Effect<A, E, R>): Effect.Effect<A, E | EventStore.AppendTimeout, R> =>
    within(
      request,
      timeout,
      () =>
        new EventStore.AppendTimeout({ streamId, timeoutMillis: Duration.toMillis(timeout), mayHaveCommitted: true })
    )
