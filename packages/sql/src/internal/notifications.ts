/**
 * PostgreSQL's live delivery across processes: a store announces its commits with `NOTIFY` on a channel named after
 * its events table, and a store with subscribers `LISTEN`s there and wakes them. Both are off the append's path: an
 * append only asks for an announcement, which one background statement sends after it, for any number of commits
 * that asked meanwhile. Subscribers also read every poll interval, so a lost notification (a dropped listening
 * connection, a commit of something else that held readers back) delays them, never stops them.
 *
 * @internal
 */
import type { StoreBackend } from "@concord/core"
import type * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"

/**
 * How a store hears of notifications on a channel: `PgClient.listen`, given by the PostgreSQL layer, so that the
 * store itself needs only the abstract `SqlClient`.
 *
 * @internal
 */
export type Listen = (channel: string) => Stream.Stream<string, unknown>

/**
 * The channel of a store's notifications: its events table's name, cut as PostgreSQL cuts identifiers (63 bytes),
 * since `LISTEN` takes an identifier and `pg_notify` refuses a longer name.
 *
 * @internal
 */
export const channelOf = (table: string): string => {
  const bytes = new TextEncoder().encode(table)
  if (bytes.length <= 63) return table
  // A character cut in half is dropped whole.
  return new TextDecoder().decode(bytes.slice(0, 63)).replace(/\uFFFD$/, "")
}

/**
 * The payload of a notification sent inside a caller's transaction: PostgreSQL delivers it when (and only if) that
 * transaction commits, and every listener, this store's too, wakes for it.
 */
const committedInTransaction = "commit"

/** The payloads of a listener's checks that it still hears itself, which wake no one. */
const alivePrefix = "alive-"

/** The least time between two notifications a store sends for its own commits. */
const notifyGap = "10 millis"

/** @internal */
export const make = (options: {
  readonly sql: SqlClient.SqlClient
  readonly channel: string
  readonly signal: StoreBackend.CommitSignal
  readonly listen: Listen | undefined
  /**
   * The client's bound on a notification statement, and how long the listener waits to hear its own notification
   * before it listens again on a new connection (milliseconds).
   */
  readonly statementTimeout: number
}) => {
  const { channel, signal, sql, statementTimeout } = options
  // Tells this store's own announcements from others': its subscribers were woken when it committed.
  const self = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`
  const notify = (payload: string) => sql`SELECT pg_notify(${channel}, ${payload})`
  /** A notification sent in the background, abandoned at its deadline on a database that does not answer. */
  const notifyBounded = (payload: string) =>
    Effect.ignore(Effect.timeout(Effect.disconnect(notify(payload)), statementTimeout))

  let sending = false
  let requested = false
  // At most one NOTIFY per gap: each is a statement on a pooled connection, and one per append cost a lone writer a
  // quarter of its appends (the bench's regression section). Subscribers in this process are woken by the signal at
  // once; those in other processes hear of a run of commits at most this much later.
  const send: Effect.Effect<void> = Effect.suspend(() => {
    requested = false
    return notifyBounded(self).pipe(
      Effect.zipRight(Effect.sleep(notifyGap)),
      Effect.zipRight(Effect.suspend(() => requested ? send : Effect.void))
    )
  })

  /**
   * After a commit of this store: one NOTIFY soon, for this commit and any other that asks before it is sent or
   * during the gap after it.
   */
  const announce: Effect.Effect<void> = Effect.suspend(() => {
    if (sending) {
      requested = true
      return Effect.void
    }
    sending = true
    // Forked from the append's exit handler, which is uninterruptible: the fiber need not be.
    return Effect.asVoid(
      Effect.forkDaemon(Effect.interruptible(Effect.ensuring(send, Effect.sync(() => (sending = false)))))
    )
  })

  /** Inside a caller's transaction, after writing: a notification sent at its commit. */
  const announceInTransaction: Effect.Effect<void, SqlError> = Effect.asVoid(notify(committedInTransaction))

  /**
   * Listens while it runs. LISTEN takes effect a round trip after it is sent, and a commit announced before then is
   * not heard: the listener notifies itself until it hears that, then wakes the subscribers once, so that they read
   * whatever committed in between. Then, every `statementTimeout`, it checks that it still hears itself: a listening
   * connection can be lost without a word (the server restarted, a partition), and `LISTEN` on a server that hangs
   * never answers. When it does not hear itself within `statementTimeout`, it listens again from the start; meanwhile
   * the subscribers' waits are bounded by the poll interval.
   */
  const listening = (listen: Listen): Effect.Effect<never> => {
    const once = Effect.suspend(() => {
      const nonce = () => `${self}-${Math.random().toString(36).slice(2)}`
      // The check under way: its payload, and whether it was heard.
      let expected: string | undefined
      let heard = false
      const hear = listen(channel).pipe(
        Stream.runForEach((payload) =>
          Effect.sync(() => {
            if (payload === expected) heard = true
            // A check that the connection still listens is no commit.
            if (payload !== self && !payload.startsWith(alivePrefix)) signal.notify()
          })
        )
      )
      /** Notifies `payload` every 50 ms until it is heard, for at most `statementTimeout`. */
      const hearSelf = (payload: string) =>
        Effect.zipRight(
          Effect.sync(() => {
            expected = payload
            heard = false
          }),
          notifyBounded(payload).pipe(Effect.zipRight(Effect.sleep("50 millis")), Effect.repeat({ until: () => heard }))
        ).pipe(
          Effect.timeoutFail({
            duration: statementTimeout,
            onTimeout: () => new Error(`the listening connection did not hear itself within ${statementTimeout} ms`)
          })
        )
      const checks = hearSelf(`ready-${nonce()}`).pipe(
        Effect.zipRight(
          Effect.forever(Effect.zipRight(Effect.sleep(statementTimeout), hearSelf(`${alivePrefix}${nonce()}`)))
        )
      )
      return Effect.all([hear, checks], { concurrency: 2, discard: true })
    })
    // A lost connection ends the stream, or a check: listen again after a pause.
    return once.pipe(
      Effect.catchAllCause((cause) => Effect.logDebug("listening for commits failed; listening again", cause)),
      Effect.zipRight(Effect.sleep("1 second")),
      Effect.forever
    )
  }

  let holders = 0
  let listener: Fiber.RuntimeFiber<never> | undefined
  /** The last listener told to stop, which may still be closing its connection. */
  let stopping: Fiber.RuntimeFiber<never> | undefined

  /**
   * Keeps the store listening while the scope is open (one listener for all of a store's subscribers). Closing the
   * scope does not wait for the listener to stop: on a server that hangs, its `UNLISTEN` waits as long as the server.
   * A new listener waits for the one before it to be gone, so that the old one's `UNLISTEN` cannot silence it.
   */
  const hold: Effect.Effect<void, never, Scope.Scope> = options.listen === undefined
    ? Effect.void
    : Effect.acquireRelease(
      Effect.flatMap(
        Effect.sync(() => holders++),
        (before) => {
          if (before > 0) return Effect.void
          const previous = stopping
          const start = previous === undefined
            ? listening(options.listen!)
            : Effect.zipRight(Fiber.await(previous), listening(options.listen!))
          // Interruptible: a fiber forked here, in acquireRelease's uninterruptible acquire, would otherwise
          // inherit that, and the release could never stop it.
          return Effect.map(Effect.forkDaemon(Effect.interruptible(start)), (fiber) => {
            listener = fiber
          })
        }
      ),
      () =>
        Effect.suspend(() => {
          if (--holders > 0 || listener === undefined) return Effect.void
          const fiber = listener
          listener = undefined
          stopping = fiber
          return Effect.asVoid(Fiber.interruptFork(fiber))
        })
    )

  return { announce, announceInTransaction, hold } as const
}
