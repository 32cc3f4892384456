import { CommandHandler, Decider, EventStore, ExpectedVersion, StreamId } from "@concord/core"
import { Client, Commands, Events, Registry, Story } from "@concord/example-crm"
import { Effect, Schedule } from "effect"

// #region decider
// The client record as a decider: where it starts, how an event changes it, and how a command becomes events
// (or a domain error such as InvalidValueChange).
export const decider = Decider.make({
  initialState: Client.initial,
  evolve: Client.evolve,
  decide: Commands.decide
})
// #endregion decider

export const client = StreamId.make("client-acme")
const options = { schema: Events.CrmEvent, registry: Registry.registry }

// #region setup
// Acme at version 5; Harry's note is version 6 and Joe's upgrade to 500 version 7, both decided at version 5.
const setup = Effect.gen(function*() {
  const store = yield* EventStore.forDomain(options)
  yield* store.append(client, ExpectedVersion.noStream, Story.acmeHistory)
  const harry = Commands.AddMeetingNote.make({ noteId: "n1", author: "harry", text: "went well" })
  yield* CommandHandler.handle(decider, client, harry, { ...options, expectedVersion: ExpectedVersion.exact(5) })
  const joe = Commands.UpgradeClientValue.make({ value: 500 })
  yield* CommandHandler.handle(decider, client, joe, { ...options, expectedVersion: ExpectedVersion.exact(5) })
})
// #endregion setup

// #region load
export const load = CommandHandler.load(decider, client, options)
// succeeds with { state: Client { status: "active", value: 500, ... }, version: 7 }
// #endregion load

// #region current
// No expected version: decide on the current state and append at its version.
export const current = CommandHandler.handle(
  decider,
  client,
  Commands.DowngradeClientValue.make({ value: 120 }),
  options
)
// succeeds with { events: [ClientValueDowngraded { value: 120 }], append: { firstVersion: 8, ... }, attempts: 1 }
// #endregion current

// #region no-retry
// Sally lowers the value to 120, having read the record at version 5: her decision meets Joe's upgrade.
const sally = Commands.DowngradeClientValue.make({ value: 120 })

export const noRetry = CommandHandler.handle(decider, client, sally, {
  ...options,
  expectedVersion: ExpectedVersion.exact(5)
})
// fails with ConcurrencyConflict: ClientValueDowngraded (proposed #0) conflicts with ClientValueUpgraded (version 7)
// #endregion no-retry

// #region retry
// With a retry: read the two events committed since version 5, decide again on the fresh state, append again.
export const retried = CommandHandler.handle(decider, client, sally, {
  ...options,
  expectedVersion: ExpectedVersion.exact(5),
  retry: Schedule.recurs(3)
})
// succeeds with { events: [ClientValueDowngraded { value: 120 }], append: { firstVersion: 8, ... }, attempts: 2,
//   rebasedOver: 2 }
// #endregion retry

// #region retry-refused
// Joe's colleague raises the value to 300, also from version 5. On the fresh state the value is already 500.
export const refusedOnRetry = CommandHandler.handle(decider, client, Commands.UpgradeClientValue.make({ value: 300 }), {
  ...options,
  expectedVersion: ExpectedVersion.exact(5),
  retry: Schedule.recurs(3)
})
// fails with InvalidValueChange { current: 500, requested: 300 }: the domain's answer, and nothing is appended
// #endregion retry-refused

// For the docs' tests: each example on its own in-memory store, after the setup.
export const run = <A, E>(example: Effect.Effect<A, E, EventStore.EventStore>) =>
  Effect.runPromise(Effect.either(Effect.zipRight(setup, example)).pipe(Effect.provide(EventStore.layerMemory())))
