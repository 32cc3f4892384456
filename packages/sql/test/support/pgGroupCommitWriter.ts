// One process of the group commit test: many fibers appending at once (support/pgGroupCommit.ts), so that the store
// commits their appends in groups, each append recorded as a JSON line in `out` before it is sent and once answered.
import { Registry } from "@concord/example-crm"
import { PgEventStore } from "@concord/sql/pg"
import { Effect } from "effect"
import * as fs from "node:fs"
import { workload } from "./pgGroupCommit.js"

export interface GroupWriterOptions {
  readonly name: string
  readonly url: string
  readonly tablePrefix: string
  readonly streams: ReadonlyArray<string>
  readonly fibers: number
  readonly rounds: number
  readonly out: string
}

const options = JSON.parse(process.argv[2]!) as GroupWriterOptions

const program = workload({
  name: options.name,
  streams: options.streams,
  fibers: options.fibers,
  rounds: options.rounds,
  record: (line) => fs.appendFileSync(options.out, JSON.stringify(line) + "\n")
}).pipe(
  Effect.provide(
    PgEventStore.layer({ url: options.url, tablePrefix: options.tablePrefix, registry: Registry.registry })
  )
)

Effect.runPromise(program).then(
  () => process.exit(0),
  (error) => {
    console.error(error)
    process.exit(1)
  }
)
