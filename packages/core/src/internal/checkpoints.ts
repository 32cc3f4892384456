import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type { Checkpoint, Checkpoints, Service } from "../Checkpoints.js"
import * as Position from "../Position.js"

/** @internal */
export const makeMemory: Effect.Effect<Service> = Effect.sync(() => {
  const rows = new Map<string, Checkpoint>()
  // Each operation reads the clock and then changes the map in one synchronous step: no other fiber interleaves.
  const atNow = <A>(body: (now: number) => A) => Effect.map(Clock.currentTimeMillis, body)
  const service: Service = {
    acquire: ({ consumer, leaseMillis, owner, startAfter }) =>
      atNow((now) => {
        const row = rows.get(consumer)
        if (row !== undefined && row.owner !== undefined && row.owner !== owner && row.leaseUntil > now) {
          return Option.none()
        }
        const position = row?.position ?? startAfter
        rows.set(consumer, { consumer, position, owner, leaseUntil: now + leaseMillis })
        return Option.some(position)
      }),
    renew: (consumer, owner, leaseMillis) =>
      atNow((now) => {
        const row = rows.get(consumer)
        if (row === undefined || row.owner !== owner) return false
        rows.set(consumer, { ...row, leaseUntil: now + leaseMillis })
        return true
      }),
    save: (consumer, owner, position) =>
      Effect.sync(() => {
        const row = rows.get(consumer)
        if (row === undefined || row.owner !== owner) return false
        // Only forward, as the SQL checkpoints: a save that arrives after a later one leaves the later one.
        if (Position.isAfter(position, row.position)) rows.set(consumer, { ...row, position })
        return true
      }),
    release: (consumer, owner) =>
      Effect.sync(() => {
        const row = rows.get(consumer)
        if (row !== undefined && row.owner === owner) rows.set(consumer, { ...row, owner: undefined, leaseUntil: 0 })
      }),
    get: (consumer) => Effect.sync(() => Option.fromNullable(rows.get(consumer))),
    transactional: (effect) => effect
  }
  return service
})

/** @internal */
export const layerMemory = (tag: typeof Checkpoints): Layer.Layer<Checkpoints> => Layer.effect(tag, makeMemory)
