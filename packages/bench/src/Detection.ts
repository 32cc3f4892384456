// Workload 1: conflict detection against a hand-written loop over an integer matrix (the floor).
import { Conflict, ConflictRegistry, Event, StreamVersion } from "@concord/core"
import { PerformanceObserver } from "node:perf_hooks"
import * as v8 from "node:v8"
import { alternate, type Figure, median, rate, type Section, summarize } from "./Measure.js"

export interface DetectionSize {
  readonly types: ReadonlyArray<number>
  readonly deltas: ReadonlyArray<number>
  readonly trials: number
  readonly millis: number
}

const PROPOSED = 10

/**
 * A registry over `n` types in which type i conflicts with types i+1..i+3 (mod n); with payload rules, its pair with
 * i+1 holds only for the same `key`. The proposed batch and the committed delta are drawn so that nothing
 * conflicts: every pair is checked and none is reported.
 */
const setup = (n: number, delta: number, payload: boolean) => {
  const name = (i: number) => `T${i % n}`
  let registry: ConflictRegistry.ConflictRegistry<any, any> = ConflictRegistry.untyped()
  for (let i = 0; i < n; i++) {
    registry = ConflictRegistry.conflicts(registry, name(i), [name(i + 2), name(i + 3)])
    registry = payload
      ? ConflictRegistry.conflictsWhen(registry, name(i), name(i + 1), ConflictRegistry.sameKey("key"))
      : ConflictRegistry.conflicts(registry, name(i), [name(i + 1)])
  }
  const proposed = Array.from({ length: PROPOSED }, () => ({ type: name(0), data: { key: "a" } }))
  // Committed types that type 0 does not conflict with (with payload rules T1 shows up under another key).
  const committedType = (j: number) => (payload && j % 2 === 0 ? name(1) : name(4 + (j % Math.max(1, n - 4))))
  const committed = Array.from({ length: delta }, (_, j) => ({
    id: Event.EventId.make(`e${j}`),
    version: StreamVersion.make(j + 1),
    type: n <= 4 ? "Other" : committedType(j),
    data: { key: "b" }
  }))
  // The floor: the same decision over integer ids and a byte matrix, no strings, no objects.
  const matrix = new Uint8Array(n * n)
  for (let i = 0; i < n; i++) for (const k of [1, 2, 3]) matrix[i * n + ((i + k) % n)] = 1
  const ids = new Map(Array.from({ length: n }, (_, i) => [name(i), i]))
  const proposedIds = Int32Array.from(proposed, (e) => ids.get(e.type)!)
  const committedIds = Int32Array.from(committed, (e) => ids.get(e.type) ?? 0)
  const baseline = () => {
    let found = 0
    for (let i = 0; i < proposedIds.length; i++) {
      const row = proposedIds[i]! * n
      for (let j = 0; j < committedIds.length; j++) {
        if (matrix[row + committedIds[j]!] === 1 && (!payload || committed[j]!.data.key === proposed[i]!.data.key)) {
          found++
        }
      }
    }
    return found
  }
  if (Conflict.detect(registry, committed, proposed).length !== 0 || baseline() !== 0) {
    throw new Error("the detection workload must have nothing conflict")
  }
  return { registry, committed, proposed, baseline }
}

/** The allocation row's name, shared with the report's targets. */
export const allocationName = (payload: boolean) =>
  `bytes allocated per check when nothing conflicts${payload ? ", payload rules" : ""}`

const gc = (globalThis as { gc?: () => void }).gc

/** Checks per measured window of the allocation figure, windows per trial, and checks to warm up first. */
export const ALLOCATION = { checks: 500, windows: 9, warmUp: 2_000 } as const

/** Garbage collections V8 reports, as [start, end] in `performance.now()` time. */
const collections: Array<readonly [number, number]> = []
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) collections.push([entry.startTime, entry.startTime + entry.duration])
}).observe({ entryTypes: ["gc"] })

/** The bytes the heap grew by while `run` ran, and when it ran. */
const heapGrowth = (run: () => void) => {
  const start = performance.now()
  const before = v8.getHeapStatistics().used_heap_size
  run()
  const after = v8.getHeapStatistics().used_heap_size
  return { bytes: after - before, start, end: performance.now() }
}

/**
 * Bytes allocated per check when nothing conflicts: the median over several windows of `ALLOCATION.checks` checks
 * of the heap's growth, less the median growth of as many empty windows (what reading the heap statistics itself
 * allocates), after a warm-up and a full GC. The heap's counters move in steps that are not the checks' doing: the
 * first allocations after a full GC in the old generation (compiled code's metadata, the runtime's own objects) take
 * a fresh linear allocation area, which counts as used at once, a step of up to a few hundred kilobytes whether or
 * not checks ran meanwhile. In one window of 5,000 checks such a step read as 30–45 bytes per check; a median over
 * windows is moved by no single one. Windows during which V8 reported a garbage collection (which shrinks the heap)
 * are dropped. Without --expose-gc the figure is noise, and the notes say so.
 */
export const allocationPerCheck = async (check: () => void, attempt = 1): Promise<number> => {
  for (let k = 0; k < ALLOCATION.warmUp; k++) check()
  gc?.()
  const checks = () => {
    for (let k = 0; k < ALLOCATION.checks; k++) check()
  }
  heapGrowth(checks) // settles whatever the GC left to do
  const empty: Array<ReturnType<typeof heapGrowth>> = []
  const full: Array<ReturnType<typeof heapGrowth>> = []
  for (let w = 0; w < ALLOCATION.windows; w++) {
    empty.push(heapGrowth(() => {}))
    full.push(heapGrowth(checks))
  }
  // The GC observer's entries arrive on a later turn of the event loop.
  await new Promise((resolve) => setTimeout(resolve, 5))
  const clean = (windows: ReadonlyArray<ReturnType<typeof heapGrowth>>) =>
    windows.filter((w) => !collections.some(([start, end]) => start < w.end && end > w.start)).map((w) => w.bytes)
  const [overhead, grown] = [clean(empty), clean(full)]
  if ((overhead.length === 0 || grown.length === 0) && attempt < 3) return allocationPerCheck(check, attempt + 1)
  if (overhead.length === 0 || grown.length === 0) throw new Error("a garbage collection ran in every window")
  return Math.max(0, (median(grown) - median(overhead)) / ALLOCATION.checks)
}

export const run = async (size: DetectionSize): Promise<Section> => {
  const rows: Array<Figure> = []
  for (const payload of [false, true]) {
    for (const n of size.types) {
      for (const delta of size.deltas) {
        const { baseline, committed, proposed, registry } = setup(n, delta, payload)
        const pairs = PROPOSED * delta
        const label = `${n} types, delta ${delta}${payload ? ", payload rules" : ""}`
        // Two contenders: the order turns around every round, so each round's pair ran back to back.
        const [concord, floor] = await alternate(
          size.trials,
          [
            {
              name: `Concord detect: ${label}`,
              trial: () => rate(pairs, () => Conflict.detect(registry, committed, proposed), size.millis)
            },
            { name: `baseline loop: ${label}`, trial: () => rate(pairs, baseline, size.millis) }
          ],
          "pairs/s",
          { warmUp: true }
        )
        rows.push(concord!, floor!)
      }
    }
  }
  for (const payload of [false, true]) {
    const { committed, proposed, registry } = setup(
      size.types[size.types.length - 1]!,
      size.deltas[size.deltas.length - 1]!,
      payload
    )
    const bytes: Array<number> = []
    for (let trial = 0; trial < size.trials; trial++) {
      bytes.push(await allocationPerCheck(() => Conflict.detect(registry, committed, proposed)))
    }
    rows.push(summarize(allocationName(payload), bytes, "bytes"))
  }
  return {
    id: "detection",
    title: "Conflict detection",
    unit: "pairs/s",
    rows,
    notes:
      `Batches of ${PROPOSED} proposed events against deltas of committed events; nothing conflicts, so every pair ` +
      `is checked. Concord and the baseline loop take turns, after one uncounted trial each, ${size.trials} rounds ` +
      `of about ${size.millis} ms each; ` +
      `the target reads the baseline's rate over Concord's, round by round. Allocation: ${size.trials} trials on the ` +
      `largest registry and delta, with and without payload rules; each trial runs ` +
      `${ALLOCATION.warmUp.toLocaleString("en-US")} checks to warm up, then a full GC, then takes the median heap ` +
      `growth over ${ALLOCATION.windows} windows of ${ALLOCATION.checks} checks less that of as many empty windows, ` +
      `dropping windows with a garbage collection${
        gc === undefined ? " (--expose-gc was not given: without the full GC the figure is noise)" : ""
      }.`
  }
}
