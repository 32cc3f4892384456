import { EventStore } from "@concord/core"
import * as Effect from "effect/Effect"

const check = (name: string, value: number, min: number, what: string) =>
  Number.isSafeInteger(value) && value >= min
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
  check(name, value, 0, "a whole number of milliseconds, at least 0")

/** @internal */
export const count = (name: string, value: number) => check(name, value, 1, "a whole number, at least 1")
