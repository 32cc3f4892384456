/**
 * PostgreSQL's group commit: the fast path's writes (see `fastPath.ts`) that arrive while the store's earlier ones are
 * on their way to the database wait, and then go together in one statement, which calls the function of migration
 * `3_append_many`: one round trip and one commit for the whole group, each append still guarded and failing alone
 * (a subtransaction each).
 *
 * A group is formed once the event loop has run what it had to run (`setImmediate`): every write submitted meanwhile
 * joins it, and a lone write waits for no company, only for that turn to end. Up to two groups are on their way at
 * once; a committer whose group is answered takes the writes that came in the meantime, in the same way.
 *
 * Everything else is the fast path's: the shared flow still validates each append and builds its events before its
 * write is submitted here, and an append whose write missed, or met a unique constraint, goes on to the full path on
 * its own, as after any fast-path miss. A write is answered only once the group's statement returned, so committed.
 *
 * Deadlines: an append's deadline interrupts its fiber, which then takes its write out of the queue; the commit of
 * a group runs outside that fiber, so it takes a write only if its deadline has not answered yet (see
 * `Deadline.Commitment`), and marks it as one that may have committed as it does, right before the statement goes (a
 * connection at hand). So a write still waiting, or whose group waits for a connection, answers
 * `mayHaveCommitted: false`, and one sent `true`. A group that could not be sent (no connection, or its JSON could not
 * be made) goes the full path, each append on its own, as after a miss. The group's statement has a deadline of its
 * own (see `groupDeadline`), so that a server that hangs holds up a committer no longer than that.
 *
 * Other processes hear of the commits as after any append: each acknowledged append asks for the store's one
 * background `NOTIFY`, which is sent at most every 10 ms whatever the number of appends (see `notifications.ts`).
 *
 * Metrics (see `metrics.ts`): each write sent records its wait from its submission until its group's statement went
 * (the queue, a free committer, a connection), and each statement that returned records its group's size. Inside
 * the statement, rows another writer holds are skipped (`SKIP LOCKED`) and any other lock wait is bounded (20 ms): such
 * a wait cannot be told apart from the statement's work without changing the function, and is not recorded.
 *
 * @internal
 */
import type { EventStore, StoreBackend, StreamId, StreamVersion } from "@concord/core"
import type * as SqlClient from "@effect/sql/SqlClient"
import { SqlError } from "@effect/sql/SqlError"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Runtime from "effect/Runtime"
import { Missed, UniqueViolation } from "./appendFailures.js"
import * as Deadline from "./deadline.js"
import * as Metrics from "./metrics.js"
import type * as Migrations from "./migrations.js"
import { storeError } from "./rows.js"

/**
 * How a store sends a group: once it has a connection, right before the statement goes, it calls `take` for the
 * appends (the JSON the function takes) and sends them in the statement `SELECT <appendMany>($1::jsonb) AS statuses`,
 * its answer (the statuses, or why there are none) to `done`. When `take` answers `undefined`, nothing is left to send
 * (the group was answered already): no statement goes. A failure given to `done` before `take` was called means that
 * nothing was sent. The function it returns abandons the statement at its deadline: whatever answer comes later is
 * not waited for, and a statement not yet sent is not sent.
 *
 * @internal
 */
export type Send = (group: {
  readonly take: () => string | undefined
  readonly done: (answer: Either.Either<ReadonlyArray<string>, unknown>) => void
}) => () => void

/**
 * The most appends of one group. Each that writes takes a subtransaction id, and PostgreSQL keeps up to 64 of a
 * transaction's in shared memory; past that, every other session's snapshot looks them up on disk while it runs.
 */
const maxAppends = 64

/** A group takes no further append once it holds this many events (an append with more goes alone). */
const maxEvents = 1_000

/** How many groups may be on their way at once, each on a connection of its own. */
export const maxGroupsInFlight = 2

/**
 * The bound on a group's statement: twice the append deadline, so that its appends have all answered by then (at
 * their own deadlines, as ones that may have committed), and an append queued behind it on a server that hangs
 * answers at its own deadline that nothing was written, rather than being sent into the hang. The timer's range
 * caps it.
 */
const groupDeadline = (appendTimeout: number) => Math.min(2 * appendTimeout, 2 ** 31 - 1)

type WriteError = Missed | UniqueViolation | EventStore.StoreError

/** A fast-path write waiting for its group, or sent in one. */
interface Pending {
  readonly streamId: StreamId.StreamId
  readonly expected: StreamVersion.StreamVersion
  readonly records: ReadonlyArray<StoreBackend.PendingEvent>
  readonly batch: EventStore.AppendResult
  readonly commitment: Deadline.Commitment
  readonly resume: (answer: Effect.Effect<void, WriteError>) => void
  /** When it was queued (`performance.now()`): its wait (see Metrics.lockWait) runs from there until it is sent. */
  readonly submittedAt: number
  /**
   * `waiting` in the queue, `grouped` in a group waiting for its connection, `sent` in a group's statement, `left`
   * when its append gave up waiting (it is then skipped).
   */
  state: "waiting" | "grouped" | "sent" | "left"
}

/** An append as the function of migration `3_append_many` takes it. */
const toJson = (write: Pending) => ({
  stream: write.streamId,
  expected: write.expected,
  first: write.batch.firstVersion,
  last: write.batch.lastVersion,
  rebased: write.batch.rebasedOver,
  events: write.records.map((record) => ({
    version: record.version,
    id: record.id,
    type: record.type,
    data: record.data,
    metadata: record.metadata,
    recorded_at: record.recordedAt.toISOString()
  }))
})

/**
 * SQLSTATEs that do not say the statement's transaction was rolled back on a session still open: connection
 * exceptions (`08`), the server ending the session (`57P…`: shutdown, terminated, database dropped, sent as `FATAL`),
 * system and internal errors (`58`, `XX`: what a `PANIC`, such as a failure to flush the commit record, sends).
 */
const outcomeUnknown = /^(08|57P|58|XX)/

/**
 * Whether a statement failed because the server refused it: an error response of the server (`pg`'s
 * `DatabaseError`: an `Error` with a SQLSTATE `code` and the message's `length`, from the driver itself or inside a
 * `SqlError`) whose SQLSTATE is an `ERROR`'s, so its transaction was rolled back and nothing of the group was
 * written. A lost connection, or a timeout, says nothing of the kind. Decided by the SQLSTATE, not the `severity`,
 * which the server translates (`FEHLER` under a German `lc_messages`).
 */
const refusedByServer = (cause: unknown): boolean => {
  const error = cause instanceof SqlError ? cause.cause : cause
  if (!(error instanceof Error)) return false
  const { code, length } = error as { readonly code?: unknown; readonly length?: unknown }
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) && typeof length === "number" &&
    !outcomeUnknown.test(code)
}

/** The unique violation reported for an append of a group (the function answers its status, not the error). */
const uniqueViolation = (streamId: StreamId.StreamId) =>
  new UniqueViolation({
    cause: new SqlError({
      message: `a unique constraint refused the append to stream ${streamId} in a group commit`,
      cause: { code: "23505" }
    })
  })

/** The next group, in the order the writes came: each marked grouped (it is marked sent when the statement goes). */
const takeGroup = (queue: Array<Pending>): Array<Pending> => {
  const group: Array<Pending> = []
  let events = 0
  while (queue.length > 0 && group.length < maxAppends) {
    const next = queue[0]!
    // An append whose deadline answered already (its fiber is being interrupted) is never sent.
    if (next.state !== "waiting" || next.commitment.abandoned) {
      queue.shift()
      next.state = "left"
      continue
    }
    if (group.length > 0 && events + next.records.length > maxEvents) break
    queue.shift()
    next.state = "grouped"
    events += next.records.length
    group.push(next)
  }
  return group
}

/**
 * The writes of a group that is not sent after all, to the full path (`mayHaveCommitted` was never set): its
 * connection could not be had, or its JSON made.
 */
const notSent = (group: ReadonlyArray<Pending>) => {
  for (const write of group) {
    if (write.state === "left") continue
    write.state = "left"
    write.resume(Effect.fail(new Missed()))
  }
}

/**
 * The writes of a group still to be sent, right before its statement goes: each marked sent, and as one that may have
 * committed. One whose deadline answered, or whose fiber left, while the group waited for its connection is not sent.
 */
const sendable = (group: ReadonlyArray<Pending>): Array<Pending> => {
  const sent: Array<Pending> = []
  for (const write of group) {
    if (write.state !== "grouped" || write.commitment.abandoned) {
      write.state = "left"
      continue
    }
    sent.push(write)
  }
  return sent
}

/** Each write's answer: its status from the function, in order, or the failure of the group's statement. */
const answer = (group: ReadonlyArray<Pending>, result: Either.Either<ReadonlyArray<string>, unknown>) => {
  const statuses = Either.getOrUndefined(result)
  // Refused as a whole: nothing of the group was written, and the full path takes each append on its own.
  const refused = Either.isLeft(result) && refusedByServer(result.left)
  group.forEach((write, i) => {
    const status = statuses?.length === group.length ? statuses[i] : undefined
    if (status === "written") return write.resume(Effect.void)
    if (status === "missed" || status === "unique" || refused) {
      // The database answered that nothing of this append was written: the full path, next, starts afresh.
      write.commitment.mayHaveCommitted = false
      return write.resume(Effect.fail(status === "unique" ? uniqueViolation(write.streamId) : new Missed()))
    }
    const cause = Either.isLeft(result)
      ? result.left
      : new Error(`the group's statement answered ${JSON.stringify(statuses)} for ${group.length} appends`)
    write.resume(Effect.fail(storeError(`append to stream ${write.streamId}`)(cause)))
  })
}

/**
 * Groups sent through the store's `SqlClient`: for a store over a client its caller made, where no connection of
 * the store's own is at hand.
 *
 * @internal
 */
export const sendThrough = (sql: SqlClient.SqlClient, names: Migrations.Tables) =>
  Effect.map(Effect.runtime<never>(), (runtime): Send => {
    const run = Runtime.runCallback(runtime)
    const [statement] = sql`SELECT ${sql(names.appendMany)}(${""}::jsonb) AS statuses`.compile()
    return ({ done, take }) =>
      // A connection first, so that the group is taken (and may commit) only once it is at hand.
      run(
        Effect.scoped(Effect.flatMap(sql.reserve, (connection) =>
          Effect.suspend(() => {
            const appends = take()
            return appends === undefined
              ? Effect.succeed([])
              : connection.execute(statement, [appends], undefined) as Effect.Effect<
                ReadonlyArray<{ statuses: ReadonlyArray<string> }>,
                SqlError
              >
          }))),
        {
          onExit: (exit) =>
            done(
              Exit.isSuccess(exit)
                ? Either.right(exit.value[0]?.statuses ?? [])
                : Either.left(
                  Exit.causeOption(exit).pipe((cause) =>
                    cause._tag === "Some" && cause.value._tag === "Fail" ? cause.value.error : cause
                  )
                )
            )
        }
      )
  })

/** @internal */
export const make = (options: {
  readonly send: Send
  /** The append deadline (milliseconds), which also bounds a group's statement (see `groupDeadline`). */
  readonly appendTimeout: number
}) => {
  const { send } = options
  const deadline = groupDeadline(options.appendTimeout)
  const queue: Array<Pending> = []
  let committers = 0
  let starting = false

  /** A free committer: it sends the next group, if any write waits, and when that is answered does so again. */
  const commitNext = () => {
    const group = takeGroup(queue)
    if (group.length === 0) {
      committers--
      return
    }
    /** The writes the statement carries, once it goes. */
    let sent: ReadonlyArray<Pending> | undefined
    let answered = false
    const settle = (result: Either.Either<ReadonlyArray<string>, unknown>) => {
      if (answered) return
      answered = true
      clearTimeout(timer)
      // A failure before the statement went: nothing of the group was written.
      if (sent === undefined) notSent(group)
      else {
        // The statement returned: the group's transaction committed.
        // Its size is the appends it wrote (one that missed or met a unique constraint goes the full path), if any.
        const written = Either.isRight(result) ? result.right.filter((status) => status === "written").length : 0
        if (written > 0) Metrics.groupCommitted(Metrics.postgres, written)
        answer(sent, result)
      }
      // The writes submitted as the answers are handled join the next group.
      setImmediate(commitNext)
    }
    const take = (): string | undefined => {
      if (answered) return undefined
      const writes = sendable(group)
      let appends: string | undefined
      try {
        appends = writes.length === 0 ? undefined : JSON.stringify(writes.map(toJson))
      } catch {
        // Past the longest string of the engine, say: each append goes the full path on its own.
      }
      if (appends === undefined) {
        settle(Either.left(undefined))
        return undefined
      }
      const now = performance.now()
      for (const write of writes) {
        write.state = "sent"
        write.commitment.mayHaveCommitted = true
        Metrics.waited(Metrics.postgres, write.submittedAt, now)
      }
      sent = writes
      return appends
    }
    let abandon = () => {}
    const timer = setTimeout(() => {
      abandon()
      settle(Either.left(new Deadline.TimedOut({ millis: deadline })))
    }, deadline)
    // Nothing waits for a group at shutdown: the appends answer at their own deadlines, whose timers hold the process.
    timer.unref()
    try {
      abandon = send({ take, done: settle })
    } catch (cause) {
      settle(Either.left(cause))
    }
  }

  /** Starts a committer once this turn of the event loop has submitted what it will. */
  const start = () => {
    starting = false
    while (committers < maxGroupsInFlight && queue.length > 0) {
      committers++
      commitNext()
    }
  }

  const submit = (write: Pending) => {
    queue.push(write)
    if (committers < maxGroupsInFlight && !starting) {
      starting = true
      setImmediate(start)
    }
  }

  /**
   * The fast path's backend with its write made in a group: as `FastPath.make(…).optimistic`, it assumes the stream
   * is at the expected version and that no event id of the batch is stored, which the function checks.
   */
  const optimistic = (
    streamId: StreamId.StreamId,
    expected: StreamVersion.StreamVersion,
    commitment: Deadline.Commitment
  ): StoreBackend.Backend<Missed | UniqueViolation> => ({
    currentVersion: Effect.succeed(expected),
    // Read only when the expected version is behind the current one, which is assumed not to be.
    committedAfter: () => Effect.dieMessage("the fast path reads no committed events"),
    findIds: () => Effect.succeed([]),
    write: (records, batch) =>
      Effect.async<void, WriteError>((resume) => {
        const write: Pending = {
          streamId,
          expected,
          records,
          batch,
          commitment,
          resume,
          submittedAt: performance.now(),
          state: "waiting"
        }
        submit(write)
        // Interrupted (its deadline, its caller): a write not yet sent is never sent; one sent stays sent.
        return Effect.sync(() => {
          if (write.state === "waiting" || write.state === "grouped") write.state = "left"
        })
      })
  })

  return { optimistic } as const
}
