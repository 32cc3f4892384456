import { Checkpoints, Consumer, EventStore, ExpectedVersion, Position, StreamId } from "@concord/core"
import * as SqlClient from "@effect/sql/SqlClient"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Option, Schedule } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Consumers from "../examples/consumers.js"

const directory = fs.mkdtempSync(path.join(os.tmpdir(), "concord-docs-consumers-"))

/** Waits, with a deadline, until `check` holds. */
const eventually = <R>(check: Effect.Effect<boolean, unknown, R>) =>
  check.pipe(
    Effect.filterOrFail((done) => done),
    Effect.retry(Schedule.spaced("20 millis")),
    Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => new Error("the consumer did not catch up in 10 s") })
  )

describe("consumers", () => {
  it.live("a consumer handles every matching event in order and resumes after its checkpoint", () =>
    Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      const lines: Array<string> = []
      const invoice = StreamId.make("invoice-1")
      yield* store.append(invoice, ExpectedVersion.noStream, [{ type: "InvoiceIssued", data: {} }])
      yield* store.append(StreamId.make("client-1"), ExpectedVersion.noStream, [{ type: "ClientRegistered", data: {} }])
      const first = yield* Effect.fork(Consumers.invoiceLog(lines))
      yield* store.append(invoice, ExpectedVersion.exact(1), [{ type: "InvoicePaid", data: {} }])
      yield* eventually(Effect.sync(() => lines.length === 2))
      yield* Fiber.interrupt(first)
      const saved = yield* Consumer.checkpoint("invoice-log")
      expect(Option.map(saved, (checkpoint) => Position.toString(checkpoint.position))).toEqual(Option.some("3"))

      yield* store.append(invoice, ExpectedVersion.exact(2), [{ type: "InvoiceVoided", data: {} }])
      const second = yield* Effect.fork(Consumers.invoiceLog(lines))
      yield* eventually(Effect.sync(() => lines.length === 3))
      yield* Fiber.interrupt(second)
      expect(lines).toEqual(["invoice-1 InvoiceIssued", "invoice-1 InvoicePaid", "invoice-1 InvoiceVoided"])
    }).pipe(Effect.provide([EventStore.layerMemory(), Checkpoints.layerMemory()])))

  it.live("a transactional projection into the store's database follows the log", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const store = yield* EventStore.EventStore
      yield* sql`CREATE TABLE client_values (stream_id TEXT PRIMARY KEY, value INTEGER NOT NULL)`
      const acme = StreamId.make("client-acme")
      yield* store.append(acme, ExpectedVersion.noStream, [{ type: "ClientRegistered", data: { value: 100 } }])
      const projection = yield* Effect.fork(Consumers.clientValues)
      yield* store.append(StreamId.make("client-globex"), ExpectedVersion.noStream, [
        { type: "ClientRegistered", data: { value: 7 } }
      ])
      yield* store.append(acme, ExpectedVersion.exact(1), [
        { type: "MeetingNoteAdded", data: { text: "went well" } },
        { type: "ClientValueUpgraded", data: { value: 500 } }
      ])
      const rows = sql<{ stream_id: string; value: number }>`SELECT stream_id, value FROM client_values
        ORDER BY stream_id`
      yield* eventually(Effect.map(rows, (all) => all.length === 2 && all[0]!.value === 500))
      yield* Fiber.interrupt(projection)
      expect(yield* rows).toEqual([{ stream_id: "client-acme", value: 500 }, { stream_id: "client-globex", value: 7 }])
    }).pipe(Effect.provide(Consumers.crmDatabase(path.join(directory, "crm.db")))))
})
