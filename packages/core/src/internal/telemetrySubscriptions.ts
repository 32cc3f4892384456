import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import { globalValue } from "effect/GlobalValue"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Position from "../Position.js"
import type { LiveLog } from "./subscription.js"
import * as Metrics from "./telemetryMetrics.js"

// A subscription's lag is the positions of the log between what it delivered and the log's end. What it delivered
// is known at each read (it reads as its subscriber pulls: everything before a read's start was delivered). The end
// must be known even while a subscriber stopped pulling, the one an operator must see: each store with open
// subscriptions has one sampler, a daemon fiber reading the log's end every second (one short statement on SQL,
// nothing on memory), started by its first open subscription and stopped with its last; reads also tell how far they
// saw. Cost: a read of the end per second per store while it has subscribers, a look at every open subscription per
// sample, and constant time per page a subscription reads. Nothing per event.

/** How often a store with open subscriptions has its end read. */
const sampleInterval = Duration.seconds(1)

/** What is known of one store's log while it has open subscriptions. */
interface LogEnd {
  /** As far as the log is known to reach: the last sample, or further when a read saw further. */
  end: Position.Position
  readonly subscriptions: Set<Tracked>
  sampler: Fiber.RuntimeFiber<unknown, unknown> | undefined
}

/**
 * One subscription as the metrics see it. `pending` until its stream starts (reads made to start it are kept, not
 * yet counted), then `open`, then `closed` for good.
 *
 * @internal
 */
export interface Tracked {
  status: "pending" | "open" | "closed"
  /** Everything up to here was delivered: where its last read started. */
  delivered: Position.Position
  /** As far as its reads saw the log. */
  seen: Position.Position
  /** The log it reads, once it read. */
  source: LiveLog | undefined
  /** What is known of that log's end, while open. */
  log: LogEnd | undefined
  /** Its lag, as the gauge last took it into account. */
  lag: number
}

interface State {
  /** Every open subscription of this process, whatever its store: the lag gauge is the largest of their lags. */
  readonly open: Set<Tracked>
  /** The largest lag among `open`, as the gauge was last set. */
  largest: number
  readonly logs: WeakMap<LiveLog, LogEnd>
}

// Shared by every copy of this module loaded in the process: the gauges are one series each.
const state = globalValue("@concord/core/internal/telemetrySubscriptions", (): State => ({
  open: new Set(),
  largest: 0,
  logs: new WeakMap()
}))

/**
 * How many positions of the log lie after `from` up to `to`: the difference of their sequence numbers (0 when `to`
 * is not after `from`). Exact where commits are the log's order (memory, SQLite: one sequence number per event, in
 * log order); on PostgreSQL, where sequence numbers are taken before commit, an estimate: it also counts the numbers
 * of transactions not yet visible or rolled back, and can miss a few taken earlier by transactions that committed
 * later.
 *
 * @internal
 */
export const positionsBetween = (from: Position.Position, to: Position.Position): number =>
  Position.isAfter(to, from) && to.sequence > from.sequence ? Number(to.sequence - from.sequence) : 0

const lagOf = (tracked: Tracked): number =>
  tracked.log === undefined ? 0 : positionsBetween(tracked.delivered, tracked.log.end)

const setLargest = (lag: number): void => {
  state.largest = lag
  Metrics.subscriptionLag.unsafeUpdate(lag, Metrics.noLabels)
}

/** Walks every open subscription: when the one that held the largest lag got closer or ended, and at each sample. */
const recompute = (): void => {
  let found = 0
  for (const tracked of state.open) if (tracked.lag > found) found = tracked.lag
  if (found !== state.largest) setLargest(found)
}

/** Constant time unless the subscription held the largest lag and got closer. */
const measure = (tracked: Tracked): void => {
  const before = tracked.lag
  const lag = lagOf(tracked)
  if (lag === before) return
  tracked.lag = lag
  if (lag > state.largest) setLargest(lag)
  else if (before === state.largest) recompute()
}

/** One sample: the log's end read, every subscription of the log measured against it. A failed read changes nothing. */
const sample = (log: LiveLog, logEnd: LogEnd) =>
  Effect.flatMap(Effect.exit(log.end), (exit) =>
    Effect.sync(() => {
      if (Exit.isSuccess(exit)) logEnd.end = Position.max(logEnd.end, exit.value)
      for (const tracked of logEnd.subscriptions) tracked.lag = lagOf(tracked)
      recompute()
    }))

/** The clock of the default services: its sleeps are the platform's timers. */
const liveClock = Effect.runSync(Effect.clock)

/**
 * The wait between samples. On the default clock a timer that does not keep Node's process alive: a subscription
 * waiting for commits does not, and its sampler must not either. On any other clock (a test's), its sleep.
 */
const pause: Effect.Effect<void> = Effect.flatMap(Effect.clock, (clock) =>
  clock !== liveClock
    ? Effect.sleep(sampleInterval)
    : Effect.async<void>((resume) => {
      const timer: unknown = setTimeout(() => resume(Effect.void), Duration.toMillis(sampleInterval))
      if (typeof timer === "object" && timer !== null && "unref" in timer && typeof timer.unref === "function") {
        timer.unref()
      }
      return Effect.sync(() => clearTimeout(timer as Parameters<typeof clearTimeout>[0]))
    }))

// Interruptible whatever region started it (a subscription's acquisition is not); no spans: a statement a second
// would fill an operator's traces.
const sampling = (log: LiveLog, logEnd: LogEnd) =>
  Effect.zipRight(sample(log, logEnd), pause).pipe(
    Effect.forever,
    Effect.interruptible,
    Effect.withTracerEnabled(false)
  )

/** An open subscription's log gets sampled: its sampler started in the caller's runtime if none runs. */
const attach = (tracked: Tracked, log: LiveLog, runtime: Runtime.Runtime<never>): void => {
  let logEnd = state.logs.get(log)
  if (logEnd === undefined) {
    logEnd = { end: Position.start, subscriptions: new Set(), sampler: undefined }
    state.logs.set(log, logEnd)
  }
  logEnd.end = Position.max(logEnd.end, tracked.seen)
  tracked.log = logEnd
  logEnd.subscriptions.add(tracked)
  // Started synchronously, so two subscriptions starting at once cannot start two samplers.
  logEnd.sampler ??= Runtime.runFork(runtime)(sampling(log, logEnd))
  measure(tracked)
}

const detach = (tracked: Tracked): void => {
  const logEnd = tracked.log
  if (logEnd === undefined) return
  tracked.log = undefined
  logEnd.subscriptions.delete(tracked)
  if (logEnd.subscriptions.size === 0 && logEnd.sampler !== undefined) {
    logEnd.sampler.unsafeInterruptAsFork(FiberId.none)
    logEnd.sampler = undefined
  }
}

const withRuntime = (f: (runtime: Runtime.Runtime<never>) => void): Effect.Effect<void> =>
  Effect.flatMap(Effect.runtime<never>(), (runtime) => Effect.sync(() => f(runtime)))

/** The subscription reads `log`. */
const bind = (tracked: Tracked, log: LiveLog): Effect.Effect<void> =>
  Effect.suspend(() => {
    if (tracked.status === "closed" || tracked.source === log) return Effect.void
    if (tracked.status === "pending") {
      tracked.source = log
      return Effect.void
    }
    return withRuntime((runtime) => {
      if (tracked.status !== "open" || tracked.source === log) return
      detach(tracked)
      tracked.source = log
      attach(tracked, log, runtime)
    })
  })

const make = (): Tracked => ({
  status: "pending",
  delivered: Position.start,
  seen: Position.start,
  source: undefined,
  log: undefined,
  lag: 0
})

/** Counted open, with the lag its reads so far tell. */
const opened = (tracked: Tracked): Effect.Effect<void> =>
  withRuntime((runtime) => {
    if (tracked.status !== "pending") return
    tracked.status = "open"
    state.open.add(tracked)
    Metrics.subscriptionsOpen.unsafeModify(1, Metrics.noLabels)
    if (tracked.source !== undefined) attach(tracked, tracked.source, runtime)
  })

/** Ended, however it ended: no longer open, its lag no longer counts; its store's sampler stops with the last. */
const closed = (tracked: Tracked): void => {
  const wasOpen = tracked.status === "open"
  tracked.status = "closed"
  if (!wasOpen) return
  state.open.delete(tracked)
  Metrics.subscriptionsOpen.unsafeModify(-1, Metrics.noLabels)
  detach(tracked)
  if (tracked.lag === state.largest && state.largest > 0) recompute()
}

/**
 * A subscription read its log after `after` (so everything up to `after` was delivered) and saw it up to `through`.
 *
 * @internal
 */
export const read = (tracked: Tracked, after: Position.Position, through: Position.Position): void => {
  if (tracked.status === "closed") return
  tracked.delivered = after
  tracked.seen = Position.max(tracked.seen, through)
  if (tracked.log === undefined) return
  tracked.log.end = Position.max(tracked.log.end, through)
  measure(tracked)
}

/**
 * The subscription the caller runs in, set by {@link track}: the store's subscription and reads inside it count for
 * it instead of opening another.
 *
 * @internal
 */
export class Current extends Context.Tag("@concord/core/internal/telemetrySubscriptions/Current")<
  Current,
  Tracked
>() {}

/**
 * A subscription of `log` open for as long as the scope: the caller's {@link Current} if it has one, else a new one.
 *
 * @internal
 */
export const scoped = (log: LiveLog): Effect.Effect<Tracked, never, Scope.Scope> =>
  Effect.flatMap(Effect.serviceOption(Current), (current) =>
    Option.isSome(current)
      ? Effect.as(bind(current.value, log), current.value)
      : Effect.acquireRelease(
        Effect.suspend(() => {
          const tracked = make()
          tracked.source = log
          return Effect.as(opened(tracked), tracked)
        }),
        (tracked) => Effect.sync(() => closed(tracked))
      ))

/**
 * The caller's {@link Current}, reading `log`, if it has one: a `readAll` inside a subscription counts for it.
 *
 * @internal
 */
export const current = (log: LiveLog): Effect.Effect<Tracked | undefined> =>
  Effect.flatMap(
    Effect.serviceOption(Current),
    (current) => Option.isSome(current) ? Effect.as(bind(current.value, log), current.value) : Effect.succeed(undefined)
  )

/**
 * The subscription `start` makes, counted open from when its stream starts until it ends (unless the caller already
 * runs in one): the store's reads and subscriptions in `start` and in the stream count for it.
 *
 * @internal
 */
export const track = <A, E, R, E2, R2>(
  start: Effect.Effect<Stream.Stream<A, E, R>, E2, R2>
): Effect.Effect<Stream.Stream<A, E, R>, E2, R2> =>
  Effect.flatMap(Effect.serviceOption(Current), (current) => {
    if (Option.isSome(current)) return start
    const tracked = make()
    return Effect.map(
      Effect.provideService(start, Current, tracked) as Effect.Effect<Stream.Stream<A, E, R>, E2, R2>,
      (stream) =>
        Stream.unwrapScoped(Effect.as(
          Effect.acquireRelease(opened(tracked), () => Effect.sync(() => closed(tracked))),
          Stream.provideService(stream, Current, tracked) as Stream.Stream<A, E, R>
        ))
    )
  })
