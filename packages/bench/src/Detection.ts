// Workload 1: conflict detection against a hand-written loop over an integer matrix (the floor).
import { Conflict, ConflictRegistry, Event, StreamVersion } from "@concord/core"
import { alternate, type Figure, rate, type Section, summarize } from "./Measure.js"

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

/**
 * Bytes allocated per check when nothing conflicts, from the heap before and after many checks, after a full GC so
 * that garbage of earlier work does not count (without --expose-gc the figure is noise and the notes say so).
 */
const allocationPerCheck = (check: () => void, checks: number): number => {
  // Warm up first, so that the optimising compiler's own heap data is not counted as the checks' allocation.
  for (let k = 0; k < checks; k++) check()
  gc?.()
  const before = process.memoryUsage().heapUsed
  for (let k = 0; k < checks; k++) check()
  const after = process.memoryUsage().heapUsed
  return Math.max(0, (after - before) / checks)
}

export const run = async (size: DetectionSize): Promise<Section> => {
  const rows: Array<Figure> = []
  const ratios: Array<string> = []
  for (const payload of [false, true]) {
    for (const n of size.types) {
      for (const delta of size.deltas) {
        const { baseline, committed, proposed, registry } = setup(n, delta, payload)
        const pairs = PROPOSED * delta
        const label = `${n} types, delta ${delta}${payload ? ", payload rules" : ""}`
        const [concord, floor] = await alternate(size.trials, [
          {
            name: `Concord detect: ${label}`,
            trial: () => rate(pairs, () => Conflict.detect(registry, committed, proposed), size.millis)
          },
          { name: `baseline loop: ${label}`, trial: () => rate(pairs, baseline, size.millis) }
        ], "pairs/s")
        rows.push(concord!, floor!)
        ratios.push(`${label}: ${(floor!.median / concord!.median).toFixed(2)}x`)
      }
    }
  }
  for (const payload of [false, true]) {
    const { committed, proposed, registry } = setup(
      size.types[size.types.length - 1]!,
      size.deltas[size.deltas.length - 1]!,
      payload
    )
    const bytes = Array.from(
      { length: size.trials },
      () => allocationPerCheck(() => Conflict.detect(registry, committed, proposed), 5_000)
    )
    rows.push(summarize(allocationName(payload), bytes, "bytes"))
  }
  return {
    id: "detection",
    title: "Conflict detection",
    unit: "pairs/s",
    rows,
    notes:
      `Batches of ${PROPOSED} proposed events against deltas of committed events; nothing conflicts, so every pair ` +
      `is checked. Baseline time over Concord time (target: within 2x): ${ratios.join("; ")}. ` +
      `Allocation: ${size.trials} trials of 5,000 checks each, after as many to warm up, on the largest registry ` +
      `and delta, with and without payload rules, ${
        gc === undefined
          ? "without GC control (--expose-gc was not given: the figure is noise)"
          : "each after a full GC (--expose-gc)"
      }.`
  }
}
