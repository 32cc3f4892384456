import { EventStore, ExpectedVersion, Position, StreamId } from "@concord/core"
import { Effect, Fiber, Schema, Stream } from "effect"

const acme = StreamId.make("client-acme")
const globex = StreamId.make("client-globex")
const invoice = StreamId.make("invoice-7")

export const seed = Effect.gen(function*() {
  const store = yield* EventStore.EventStore
  yield* store.append(acme, ExpectedVersion.noStream, [{
    type: "ClientRegistered",
    data: { name: "Acme", value: 100 }
  }])
  yield* store.append(invoice, ExpectedVersion.noStream, [{ type: "InvoiceIssued", data: { amount: 40 } }])
  yield* store.append(globex, ExpectedVersion.noStream, [{
    type: "ClientRegistered",
    data: { name: "Globex", value: 7 }
  }])
  yield* store.append(acme, ExpectedVersion.exact(1), [{ type: "ClientValueUpgraded", data: { value: 500 } }])
})

// #region readAll
// Every committed event in the order of the global log, here only those of `client-…` streams.
export const catchUp = Effect.gen(function*() {
  const store = yield* EventStore.EventStore
  const events = yield* Stream.runCollect(store.readAll({ filter: { categories: ["client"] } }))
  return Array.from(events, (event) => `${event.streamId} ${event.type}`)
  // ["client-acme ClientRegistered", "client-globex ClientRegistered", "client-acme ClientValueUpgraded"]
})
// #endregion readAll

// #region resume
// A position travels as a string (a checkpoint, a URL, an SSE id) and comes back to resume right after it.
export const resume = Effect.gen(function*() {
  const store = yield* EventStore.EventStore
  const [first] = yield* Stream.runCollect(store.readAll({ limit: 1 }))
  const saved: string = Schema.encodeSync(Position.FromString)(first!.position) // e.g. "1"
  const after = Schema.decodeUnknownSync(Position.FromString)(saved)
  const rest = yield* Stream.runCollect(store.readAll({ after }))
  return Array.from(rest, (event) => event.type) // everything after the first event
})
// #endregion resume

// #region subscribe
// Catch up, then follow live: the stream never ends on its own, so take what you need or interrupt it.
export const follow = Effect.gen(function*() {
  const store = yield* EventStore.EventStore
  const upgrades = yield* store.subscribe({ filter: { types: ["ClientValueUpgraded"] } }).pipe(
    Stream.take(2),
    Stream.runCollect,
    Effect.fork
  )
  // Appended after the subscriber caught up: it arrives live.
  yield* store.append(globex, ExpectedVersion.exact(1), [{ type: "ClientValueUpgraded", data: { value: 70 } }])
  const delivered = yield* Fiber.join(upgrades).pipe(Effect.timeout("5 seconds"))
  return Array.from(delivered, (event) => `${event.streamId} ${(event.data as { readonly value: number }).value}`)
  // ["client-acme 500", "client-globex 70"]
})
// #endregion subscribe
