import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import type * as ConsumerApi from "../Consumer.js"
import { InvalidOptions } from "../ConsumerError.js"
import type * as Event from "../Event.js"
import type { Filter } from "../EventStore.js"
import * as Position from "../Position.js"

/**
 * A consumer's options as the caller gives them: the public `Consumer.Options`, declared once there.
 *
 * @internal
 */
export type Options<E, R> = ConsumerApi.Options<E, R>

/**
 * The options checked, with every default filled in and every duration in milliseconds.
 *
 * @internal
 */
export interface Settings<E, R> {
  readonly name: string
  readonly owner: string
  readonly handle: (event: Event.RecordedEvent) => Effect.Effect<unknown, E, R>
  readonly filter: Filter | undefined
  readonly retry: Schedule.Schedule<unknown, E, R>
  readonly startAfter: Position.Position
  readonly checkpointEvents: number
  readonly checkpointWithin: Duration.Duration
  readonly transactional: boolean
  readonly leaseMillis: number
  readonly heartbeatMillis: number
  /**
   * How long before its lease could end the holder stops handling when no renewal succeeded: time for the handler's
   * interruption to take effect before anyone else may take over.
   */
  readonly marginMillis: number
  readonly waitForLease: Schedule.Schedule<unknown, void, R>
  /** The bound of each single call to the checkpoint store. */
  readonly callTimeout: Duration.Duration
}

/** @internal */
export const defaultLease = Duration.seconds(30)

/** @internal */
export const defaultRetry: Schedule.Schedule<unknown> = Schedule.exponential("100 millis").pipe(
  Schedule.intersect(Schedule.recurs(4))
)

const invalid = (option: string, reason: string, consumer?: unknown) =>
  Effect.fail(
    new InvalidOptions({ option, reason, ...(typeof consumer === "string" ? { consumer } : {}) })
  )

const millisOf = (name: string, input: Duration.DurationInput) => {
  const decoded = Duration.decodeUnknown(input)
  if (decoded._tag === "None" || !Duration.isFinite(decoded.value) || Duration.toMillis(decoded.value) < 1) {
    return invalid(name, `must be a finite duration of at least 1 millisecond, not ${String(input)}`)
  }
  return Effect.succeed(Duration.toMillis(decoded.value))
}

/**
 * Checks the options and fills in the defaults, whatever the caller's types said: a wrong one fails with
 * `InvalidOptions` naming it, before anything is read or taken.
 *
 * @internal
 */
export const settings = <E, R>(options: Options<E, R>): Effect.Effect<Settings<E, R>, InvalidOptions> =>
  Effect.gen(function*() {
    const name = options.name
    if (typeof name !== "string" || name.length === 0 || name.length > 256 || name.includes("\u0000")) {
      return yield* invalid("name", `a consumer's name is 1 to 256 characters without NUL, not ${JSON.stringify(name)}`)
    }
    if (options.startAfter !== undefined && !Position.isPosition(options.startAfter)) {
      return yield* invalid("startAfter", "must be a Position", name)
    }
    const owner = options.owner ?? globalThis.crypto.randomUUID()
    if (typeof owner !== "string" || owner.length === 0 || owner.length > 256) {
      return yield* invalid("owner", `an owner is 1 to 256 characters, not ${JSON.stringify(owner)}`, name)
    }
    const leaseMillis = yield* millisOf("lease", options.lease ?? defaultLease)
    const heartbeatMillis = yield* millisOf("heartbeat", options.heartbeat ?? Math.max(1, leaseMillis / 3))
    if (heartbeatMillis > leaseMillis / 2) {
      return yield* invalid(
        "heartbeat",
        `the heartbeat (${heartbeatMillis} ms) must be at most half the lease (${leaseMillis} ms)`,
        name
      )
    }
    const checkpointEvents = options.checkpointEvery?.events ?? 1
    if (!Number.isSafeInteger(checkpointEvents) || checkpointEvents < 1) {
      return yield* invalid(
        "checkpointEvery.events",
        `must be a whole number, at least 1, not ${checkpointEvents}`,
        name
      )
    }
    const checkpointWithin = yield* millisOf("checkpointEvery.within", options.checkpointEvery?.within ?? "1 second")
    return {
      name,
      owner,
      handle: options.handle,
      filter: options.filter,
      retry: options.retry ?? defaultRetry,
      startAfter: options.startAfter ?? Position.start,
      checkpointEvents,
      checkpointWithin: Duration.millis(checkpointWithin),
      transactional: options.transactional ?? false,
      leaseMillis,
      heartbeatMillis,
      marginMillis: leaseMillis / 5,
      waitForLease: options.waitForLease ?? Schedule.spaced(Duration.millis(heartbeatMillis)),
      callTimeout: Duration.millis(leaseMillis)
    }
  })
