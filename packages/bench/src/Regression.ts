// Appends must not get slower: uncontended appends of this code against the release before the read side (see
// Release.ts), on every store, the two taking turns round by round on fresh stores so that each round gives one
// ratio. The workload is the uncontended section's (single writers on memory and SQLite; PostgreSQL at one and at
// eight connections), so its figures read the same way.
import { ExpectedVersion, StreamId } from "@concord/core"
import type { Layer } from "effect"
import { ManagedRuntime } from "effect"
import type { Figure, Section } from "./Measure.js"
import { alternate } from "./Measure.js"
import * as Release from "./Release.js"
import * as Stores from "./Stores.js"
import { type note, trial } from "./Uncontended.js"

export interface RegressionSize {
  readonly batches: ReadonlyArray<number>
  /** PostgreSQL's concurrent writers (and connections), a cell each. */
  readonly pgWriters: ReadonlyArray<number>
  readonly streams: number
  /** Events per trial at batches of one; √B times as many at batch B, as in the uncontended section. */
  readonly events: { readonly memory: number; readonly sqlite: number; readonly pg: number }
  readonly trials: number
}

/** How this code's row of a cell ends (the targets pair rows by these names). */
export const current = "Concord now"

/** How the release's row of a cell ends; the commit is in the section's title. */
export const previous = "Concord before the read side"

type Events = ReadonlyArray<ReturnType<typeof note>>

/** An append function and a close over this code's store, as the uncontended trial takes them. */
const currentAppend = (opened: Awaited<ReturnType<typeof Stores.concord>>) => ({
  append: (stream: string, expected: number, events: Events) =>
    opened.run(opened.store.append(StreamId.make(stream), ExpectedVersion.exact(expected), events)),
  close: opened.dispose
})

/** An append function and a close over the release's store made by `layer`, as the uncontended trial takes them. */
const releaseAppend = async (release: Release.Release, layer: Layer.Layer<never, unknown>) => {
  const runtime = ManagedRuntime.make(layer)
  const store = await runtime.runPromise(release.EventStore.EventStore)
  return {
    append: (stream: string, expected: number, events: Events) =>
      runtime.runPromise(
        store.append(release.StreamId.make(stream), release.ExpectedVersion.exact(expected), events)
      ),
    close: () => runtime.dispose()
  }
}

interface Opened {
  readonly append: (stream: string, expected: number, events: Events) => Promise<unknown>
  readonly close: () => Promise<void>
}

interface Cell {
  readonly name: string
  readonly events: number
  readonly writers: number
  readonly now: () => Promise<Opened>
  readonly then: (release: Release.Release) => Promise<Opened>
}

const cells = (size: RegressionSize, batch: number, pgUrl: string | undefined): ReadonlyArray<Cell> => {
  const scaled = (events: number) => Math.round(events * Math.sqrt(batch))
  const memory: Cell = {
    name: `memory, batch ${batch}`,
    events: scaled(size.events.memory),
    writers: 1,
    now: async () => currentAppend(await Stores.concordMemory()),
    then: (release) => releaseAppend(release, release.EventStore.layerMemory())
  }
  const sqlite: Cell = {
    name: `SQLite, batch ${batch}`,
    events: scaled(size.events.sqlite),
    writers: 1,
    now: async () => currentAppend(await Stores.concordSqlite(Stores.freshFile(), "normal")),
    then: (release) => releaseAppend(release, release.SqliteEventStore.layer({ filename: Stores.freshFile() }))
  }
  const pg = pgUrl === undefined ? [] : size.pgWriters.map((writers): Cell => ({
    name: `PostgreSQL ${writers} writer(s), batch ${batch}`,
    events: scaled(size.events.pg),
    writers,
    now: async () => currentAppend(await Stores.concordPg(await Stores.freshDatabase(pgUrl), writers)),
    then: async (release) =>
      releaseAppend(
        release,
        release.PgEventStore.layer({ url: await Stores.freshDatabase(pgUrl), maxConnections: writers })
      )
  }))
  return [memory, sqlite, ...pg]
}

export const run = async (
  size: RegressionSize,
  pgUrl: string | undefined,
  release: Release.Release | undefined
): Promise<Section> => {
  const rows: Array<Figure> = []
  for (const batch of size.batches) {
    for (const cell of cells(size, batch, pgUrl)) {
      const measure = (open: Cell["now"]) => trial(cell.events, batch, size.streams, cell.writers, open)
      const now = { name: `${cell.name}: ${current}`, trial: measure(cell.now) }
      // Without the release there is nothing to compare with: this code alone, so the section still reports.
      const contenders = release === undefined
        ? [now]
        : [{ name: `${cell.name}: ${previous}`, trial: measure(() => cell.then(release)) }, now]
      const figures = await alternate(size.trials, contenders, "events/s", { warmUp: batch === size.batches[0] })
      rows.push(...[...figures].reverse())
    }
  }
  return {
    id: "regression",
    title: `Appends against the release before the read side (${Release.short})`,
    unit: "events/s",
    rows,
    notes: `The uncontended workload (each append names its expected version, nothing conflicts) on this code and on ` +
      `Concord at ${Release.short}, the last commit before the read side, unpacked from git history into the ` +
      `bench's cache and run from its sources like this code. Each round runs both once on a fresh store, the ` +
      `order turning around every round; ${size.trials} rounds, after one uncounted trial each at the first batch ` +
      `size. A trial appends ${size.events.memory.toLocaleString("en-US")} events to memory, ` +
      `${size.events.sqlite.toLocaleString("en-US")} to SQLite and ${size.events.pg.toLocaleString("en-US")} to ` +
      `PostgreSQL in single-event appends, √B times as many in batches of B. SQLite runs at \`synchronous = ` +
      `NORMAL\` on both, the release's only setting.` +
      (release === undefined ? ` The release could not be unpacked in this run: this code's figures only.` : "") +
      (pgUrl === undefined ? " PostgreSQL was not available in this run." : "")
  }
}
