// PostgreSQL's group commit without a database: its queue and committers over a `Send` the test answers by hand, so
// that what forms a group, what is sent, and how each write is answered can be seen exactly.
import { Event, StreamId, StreamVersion } from "@concord/core"
import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Either, Exit, Fiber } from "effect"
import * as Pg from "pg"
import * as Deadline from "../src/internal/deadline.js"
import * as PgGroupCommit from "../src/internal/pgGroupCommit.js"

/** A statement sent: the streams of its appends, and how the test answers it. */
interface Sent {
  readonly streams: ReadonlyArray<string>
  readonly done: (answer: Either.Either<ReadonlyArray<string>, unknown>) => void
  abandoned: boolean
}

/** A group waiting for its connection, which the test gives (its statement is then sent) or fails. */
interface Connecting {
  readonly connect: () => void
  readonly fail: (error: unknown) => void
}

/**
 * A committer whose statements wait for the test's answer; with `connectByHand`, each group waits for its connection
 * until the test gives or fails it.
 */
const committer = (appendTimeout = 10_000, connectByHand = false) => {
  const sent: Array<Sent> = []
  const connecting: Array<Connecting> = []
  const store = PgGroupCommit.make({
    appendTimeout,
    send: ({ done, take }) => {
      let abandoned = false
      let statement: Sent | undefined
      const connect = () => {
        if (abandoned) return
        const appends = take()
        if (appends === undefined) return
        statement = {
          streams: (JSON.parse(appends) as ReadonlyArray<{ stream: string }>).map((append) => append.stream),
          done,
          abandoned: false
        }
        sent.push(statement)
      }
      if (connectByHand) connecting.push({ connect, fail: (error) => done(Either.left(error)) })
      else connect()
      return () => {
        abandoned = true
        if (statement) statement.abandoned = true
      }
    }
  })
  /** The fast path's write of one event to `stream` at version 1, in a fiber of its own. */
  const write = (stream: string, commitment = Deadline.commitment(), data: unknown = {}) => {
    const streamId = StreamId.make(stream)
    const record = {
      id: Event.makeId(),
      streamId,
      version: StreamVersion.make(1),
      type: "Noted",
      data,
      metadata: {},
      recordedAt: new Date()
    }
    const batch = { streamId, firstVersion: StreamVersion.make(1), lastVersion: StreamVersion.make(1), rebasedOver: 0 }
    return Effect.map(
      Effect.fork(store.optimistic(streamId, StreamVersion.make(0), commitment).write([record], batch)),
      (fiber) => ({ fiber, commitment })
    )
  }
  return { connecting, sent, write }
}

/** A server's error response as the `pg` driver gives it. */
const serverError = (code: string, severity: string) =>
  Object.assign(new Pg.DatabaseError("could not serialize access", 100, "error"), { code, severity })

/** Lets the forked writes submit and the event loop's turn end, and with it the forming of a group. */
const nextTurn = Effect.zipRight(
  Effect.yieldNow(),
  Effect.async<void>((resume) => void setImmediate(() => resume(Effect.void)))
)

const failure = (exit: Exit.Exit<unknown, unknown>) =>
  Exit.isFailure(exit)
    ? Cause.failureOption(exit.cause).pipe((error) => error._tag === "Some" ? error.value : exit)
    : exit

describe("PostgreSQL group commit's queue", () => {
  it.live("the writes of one turn go in one group; while two groups are on their way, later writes wait for one", () =>
    Effect.gen(function*() {
      const { sent, write } = committer()
      const first = yield* Effect.all(["a", "b", "c"].map((stream) => write(stream)))
      yield* nextTurn
      expect(sent.map((statement) => statement.streams)).toEqual([["a", "b", "c"]])
      for (const { commitment } of first) expect(commitment.mayHaveCommitted).toBe(true)
      // A free committer takes a lone write at once (after the turn), without waiting for company.
      const second = yield* write("d")
      yield* nextTurn
      expect(sent.map((statement) => statement.streams)).toEqual([["a", "b", "c"], ["d"]])
      // Both committers busy: these wait, and are not yet sent.
      const waiting = yield* Effect.all(["e", "f"].map((stream) => write(stream)))
      yield* nextTurn
      expect(sent).toHaveLength(2)
      for (const { commitment } of waiting) expect(commitment.mayHaveCommitted).toBe(false)
      // The first group's answers, in order: its committer takes the waiting writes next.
      sent[0]!.done(Either.right(["written", "missed", "unique"]))
      const answers = yield* Effect.all(first.map(({ fiber }) => Fiber.await(fiber)))
      expect(Exit.isSuccess(answers[0]!)).toBe(true)
      expect(failure(answers[1]!)).toMatchObject({ _tag: "Missed" })
      expect(failure(answers[2]!)).toMatchObject({ _tag: "UniqueViolation" })
      // What the database answered was not written is no longer one that may have committed.
      expect(first.map(({ commitment }) => commitment.mayHaveCommitted)).toEqual([true, false, false])
      yield* nextTurn
      expect(sent.map((statement) => statement.streams)).toEqual([["a", "b", "c"], ["d"], ["e", "f"]])
      sent[1]!.done(Either.right(["written"]))
      sent[2]!.done(Either.right(["written", "written"]))
      for (const { fiber } of [second, ...waiting]) expect(Exit.isSuccess(yield* Fiber.await(fiber))).toBe(true)
    }))

  it.live("a write whose deadline answered while it waited is never sent; one whose fiber was interrupted leaves", () =>
    Effect.gen(function*() {
      const { sent, write } = committer()
      const timedOut = yield* write("timed-out")
      const interrupted = yield* write("interrupted")
      const kept = yield* write("kept")
      // The three are queued: their fibers ran, the group forms only after this turn.
      yield* Effect.yieldNow()
      expect(sent).toEqual([])
      // What the append's deadline does when it answers, before its fiber handles the interruption.
      timedOut.commitment.abandoned = true
      yield* Fiber.interrupt(interrupted.fiber)
      yield* nextTurn
      expect(sent.map((statement) => statement.streams)).toEqual([["kept"]])
      expect([timedOut, interrupted, kept].map(({ commitment }) => commitment.mayHaveCommitted)).toEqual([
        false,
        false,
        true
      ])
      sent[0]!.done(Either.right(["written"]))
      expect(Exit.isSuccess(yield* Fiber.await(kept.fiber))).toBe(true)
      yield* Fiber.interrupt(timedOut.fiber)
    }))

  it.live("a group the server refused goes the full way, each write on its own; a lost connection fails each", () =>
    Effect.gen(function*() {
      const { sent, write } = committer()
      const refused = yield* Effect.all(["a", "b"].map((stream) => write(stream)))
      yield* nextTurn
      const lost = yield* write("c")
      yield* nextTurn
      // An ERROR with its SQLSTATE: the statement's transaction was rolled back, nothing of the group was written.
      // Its severity is the server's language (German here), which says nothing the SQLSTATE does not.
      sent[0]!.done(Either.left(serverError("40001", "FEHLER")))
      for (const { commitment, fiber } of refused) {
        expect(failure(yield* Fiber.await(fiber))).toMatchObject({ _tag: "Missed" })
        expect(commitment.mayHaveCommitted).toBe(false)
      }
      // No answer from the server: the write may have committed, and fails with the cause.
      sent[1]!.done(Either.left(new Error("Connection terminated unexpectedly")))
      expect(failure(yield* Fiber.await(lost.fiber))).toMatchObject({
        _tag: "StoreError",
        operation: "append to stream c",
        cause: { message: "Connection terminated unexpectedly" }
      })
      expect(lost.commitment.mayHaveCommitted).toBe(true)
    }))

  it.live("a group's statement that never answers is abandoned at twice the append deadline, its writes failed", () =>
    Effect.gen(function*() {
      const { sent, write } = committer(50)
      const { fiber } = yield* write("a")
      const exit = yield* Fiber.await(fiber)
      expect(failure(exit)).toMatchObject({
        _tag: "StoreError",
        operation: "append to stream a",
        cause: { _tag: "TimedOut", millis: 100 }
      })
      expect(sent[0]!.abandoned).toBe(true)
      // A late answer changes nothing, and the committer takes the next write.
      sent[0]!.done(Either.right(["written"]))
      const next = yield* write("b")
      yield* nextTurn
      expect(sent.map((statement) => statement.streams)).toEqual([["a"], ["b"]])
      sent[1]!.done(Either.right(["written"]))
      expect(Exit.isSuccess(yield* Fiber.await(next.fiber))).toBe(true)
    }))
})

describe("PostgreSQL group commit's connections", () => {
  it.live("a group whose connection cannot be had is not sent: its writes go the full way, as ones that did not commit", () =>
    Effect.gen(function*() {
      const { connecting, sent, write } = committer(10_000, true)
      const writes = yield* Effect.all(["a", "b"].map((stream) => write(stream)))
      yield* nextTurn
      // Formed, but waiting for its connection: not one that may have committed yet.
      expect(connecting).toHaveLength(1)
      for (const { commitment } of writes) expect(commitment.mayHaveCommitted).toBe(false)
      connecting[0]!.fail(new Error("timeout exceeded when trying to connect"))
      for (const { commitment, fiber } of writes) {
        expect(failure(yield* Fiber.await(fiber))).toMatchObject({ _tag: "Missed" })
        expect(commitment.mayHaveCommitted).toBe(false)
      }
      // The committer goes on with the next group.
      const next = yield* write("c")
      yield* nextTurn
      connecting[1]!.connect()
      expect(sent.map((statement) => statement.streams)).toEqual([["c"]])
      expect(next.commitment.mayHaveCommitted).toBe(true)
      sent[0]!.done(Either.right(["written"]))
      expect(Exit.isSuccess(yield* Fiber.await(next.fiber))).toBe(true)
    }))

  it.live("a write whose deadline answered while its group waited for the connection is left out of the statement", () =>
    Effect.gen(function*() {
      const { connecting, sent, write } = committer(10_000, true)
      const timedOut = yield* write("timed-out")
      const kept = yield* write("kept")
      yield* nextTurn
      timedOut.commitment.abandoned = true
      connecting[0]!.connect()
      expect(sent.map((statement) => statement.streams)).toEqual([["kept"]])
      expect([timedOut, kept].map(({ commitment }) => commitment.mayHaveCommitted)).toEqual([false, true])
      sent[0]!.done(Either.right(["written"]))
      expect(Exit.isSuccess(yield* Fiber.await(kept.fiber))).toBe(true)
      yield* Fiber.interrupt(timedOut.fiber)
    }))

  it.live("a group whose JSON cannot be made is not sent: its writes go the full way", () =>
    Effect.gen(function*() {
      const { sent, write } = committer()
      // JSON.stringify throws on a bigint, as it does past the engine's longest string.
      const writes = [yield* write("a"), yield* write("b", Deadline.commitment(), { n: 1n })]
      yield* nextTurn
      expect(sent).toEqual([])
      for (const { commitment, fiber } of writes) {
        expect(failure(yield* Fiber.await(fiber))).toMatchObject({ _tag: "Missed" })
        expect(commitment.mayHaveCommitted).toBe(false)
      }
    }))

  it.live("an error response that ends the session, or a system error, leaves the outcome unknown", () =>
    Effect.gen(function*() {
      const { sent, write } = committer()
      for (const [i, code] of ["57P01", "XX000", "58030", "08006"].entries()) {
        const { commitment, fiber } = yield* write(`s${i}`)
        yield* nextTurn
        sent[i]!.done(Either.left(serverError(code, "FATAL")))
        expect(failure(yield* Fiber.await(fiber))).toMatchObject({ _tag: "StoreError", cause: { code } })
        expect(commitment.mayHaveCommitted).toBe(true)
      }
      // A SQLSTATE on what is not the server's response (no message length) says nothing either.
      const { fiber } = yield* write("plain")
      yield* nextTurn
      sent[4]!.done(Either.left(Object.assign(new Error("serialization"), { code: "40001" })))
      expect(failure(yield* Fiber.await(fiber))).toMatchObject({ _tag: "StoreError" })
    }))
})
