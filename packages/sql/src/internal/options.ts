import { EventStore } from "@concord/core"
import * as Effect from "effect/Effect"

const check = (name: string, value: number, min: number, max: number, what: string) =>
  Number.isSafeInteger(value) && value >= min && value <= max
    ? Effect.succeed(value)
    : Effect.fail(
      new EventStore.StoreError({
        operation: `accept the option ${name} = ${value} (${what})`,
        cause: new RangeError(`${name} must be ${what}, not ${value}`)
      })
    )

/**
 * A duration option: a whole number of milliseconds, at least 0. Such values end up in statements that take no
 * bound parameters (`PRAGMA`, `SET LOCAL`), so nothing else may reach them.
 *
 * @internal
 */
export const millis = (name: string, value: number) =>
  check(name, value, 0, Number.MAX_SAFE_INTEGER, "a whole number of milliseconds, at least 0")

/**
 * The longest deadline: PostgreSQL's timeouts and JavaScript's timers both stop at 2^31 - 1 ms (about 24.8 days).
 *
 * @internal
 */
export const maxDeadline = 2_147_483_647

/**
 * A deadline option: a whole number of milliseconds from 1 to {@link maxDeadline}. 0 is refused rather than read as
 * "no limit" (PostgreSQL's meaning): a deadline is what keeps a hung database from stalling its callers.
 *
 * @internal
 */
export const deadline = (name: string, value: number) =>
  check(name, value, 1, maxDeadline, `a whole number of milliseconds from 1 to ${maxDeadline}`)

/**
 * The append deadline when none is given: a second past the lock timeout when there is one (so that a single lock
 * wait fails on its own, as the lock timeout says, and only a chain of them meets the deadline), else 10 s. A lock
 * timeout of 0 is PostgreSQL's "no limit". An invalid lock timeout is its own option's error: the default then is 10 s.
 *
 * @internal
 */
export const defaultAppendTimeout = (lockTimeoutMillis: number | undefined): number =>
  lockTimeoutMillis === undefined || !Number.isSafeInteger(lockTimeoutMillis) || lockTimeoutMillis <= 0
    ? 10_000
    : Math.min(lockTimeoutMillis + 1_000, maxDeadline)

/**
 * The bound of a statement (a read, a version, a poll) when none is given.
 *
 * @internal
 */
export const defaultStatementTimeout = 30_000

/** @internal */
export const count = (name: string, value: number) =>
  check(name, value, 1, Number.MAX_SAFE_INTEGER, "a whole number, at least 1")

/**
 * A choice among a few words, whatever the caller's types said: one of `allowed`, else a `StoreError` naming the
 * option. An option that is not given is its default's to decide.
 *
 * @internal
 */
export const oneOf = <A extends string>(name: string, value: A | undefined, allowed: ReadonlyArray<A>) =>
  value === undefined || allowed.includes(value)
    ? Effect.succeed(value)
    : Effect.fail(
      new EventStore.StoreError({
        operation: `accept the option ${name} = ${String(value)} (one of ${allowed.join(", ")})`,
        cause: new RangeError(`${name} must be one of ${allowed.join(", ")}, not ${String(value)}`)
      })
    )
