// The read side's law, checked from the outside: what a subscriber was delivered against the store's final global
// log, and the global log against the streams' own reads. Every finding is a sentence; none means the law held.
import { type Event, EventStore, Position } from "@concord/core"
// The public shapes, declared once with their documentation in the Checker.
import type { LogAudit, SubscriptionAudit } from "../Checker.js"

/** An event in words: where it is in its stream, what it is, and where in the log. */
export const describeEvent = (event: Event.RecordedEvent): string =>
  `${event.streamId}@${event.version} (${event.type}, ${
    Position.isPosition(event.position) ? `position ${Position.toString(event.position)}` : "no position"
  })`

/** Whether `later` comes strictly after `earlier`; an event without a position (a broken store's) never does. */
const strictlyAfter = (later: Event.RecordedEvent, earlier: Event.RecordedEvent): boolean =>
  Position.isPosition(later.position) && Position.isPosition(earlier.position) &&
  Position.isAfter(later.position, earlier.position)

const samePlace = (a: Event.RecordedEvent, b: Event.RecordedEvent): boolean =>
  a.streamId === b.streamId && a.version === b.version && a.type === b.type &&
  Position.isPosition(a.position) && Position.isPosition(b.position) &&
  Position.Order(a.position, b.position) === 0

/** @internal */
export const auditSubscription = (audit: SubscriptionAudit): ReadonlyArray<string> => {
  const problems: Array<string> = []
  const inLog = new Map(audit.log.map((event) => [event.id, event] as const))
  const seen = new Set<string>()
  const lastVersion = new Map<string, Event.RecordedEvent>()
  let previous: Event.RecordedEvent | undefined
  for (const event of audit.delivered) {
    const described = describeEvent(event)
    if (!EventStore.matches(event, audit.filter)) problems.push(`delivered ${described}, which its filter excludes`)
    if (seen.has(event.id)) problems.push(`delivered ${described} twice`)
    seen.add(event.id)
    const logged = inLog.get(event.id)
    if (logged === undefined) problems.push(`delivered ${described}, which is not in the log`)
    else if (!samePlace(event, logged)) {
      problems.push(`delivered ${described}, which the log has as ${describeEvent(logged)}`)
    }
    if (!Position.isPosition(event.position)) problems.push(`delivered ${described} without a position`)
    else if (audit.after !== undefined && !Position.isAfter(event.position, audit.after)) {
      problems.push(`delivered ${described}, not after its start ${Position.toString(audit.after)}`)
    }
    if (previous !== undefined && !strictlyAfter(event, previous)) {
      problems.push(`delivered ${described} after ${describeEvent(previous)}: positions must strictly increase`)
    }
    const before = lastVersion.get(event.streamId)
    if (before !== undefined && event.version <= before.version) {
      problems.push(`delivered ${described} after ${describeEvent(before)}: a stream's events come in version order`)
    }
    lastVersion.set(event.streamId, event)
    previous = event
  }
  problems.push(...skipped(audit, seen))
  return problems
}

/** Every matching event of the log between the start and `through` that was not delivered, and how it was missed. */
const skipped = (audit: SubscriptionAudit, seen: ReadonlySet<string>): ReadonlyArray<string> => {
  const problems: Array<string> = []
  const through = audit.through ?? audit.log[audit.log.length - 1]?.position
  // The highest position delivered: a missing event below it was skipped, one above it the subscriber did not reach.
  let highest: Event.RecordedEvent | undefined
  for (const event of audit.delivered) {
    if (Position.isPosition(event.position) && (highest === undefined || strictlyAfter(event, highest))) {
      highest = event
    }
  }
  for (const event of audit.log) {
    if (seen.has(event.id) || !EventStore.matches(event, audit.filter)) continue
    if (audit.after !== undefined && !Position.isAfter(event.position, audit.after)) continue
    if (through !== undefined && Position.isAfter(event.position, through)) continue
    problems.push(
      highest !== undefined && strictlyAfter(highest, event)
        ? `skipped ${describeEvent(event)}: ${describeEvent(highest)}, later in the log, was delivered`
        : `never delivered ${describeEvent(event)}${
          highest === undefined ? ": nothing was delivered" : `: the last delivered was ${describeEvent(highest)}`
        }`
    )
  }
  return problems
}

/** @internal */
export const auditLog = (audit: LogAudit): ReadonlyArray<string> => {
  const problems: Array<string> = []
  const inLog = new Map<string, Event.RecordedEvent>()
  const lastOfStream = new Map<string, Event.RecordedEvent>()
  let previous: Event.RecordedEvent | undefined
  for (const event of audit.log) {
    const described = describeEvent(event)
    if (inLog.has(event.id)) problems.push(`the global log holds ${described} twice`)
    inLog.set(event.id, event)
    if (previous !== undefined && !strictlyAfter(event, previous)) {
      problems.push(
        `the global log has ${described} after ${describeEvent(previous)}: positions must strictly increase`
      )
    }
    previous = event
    const stream = audit.streams.get(event.streamId)
    if (stream === undefined) continue
    const before = lastOfStream.get(event.streamId)
    if (event.version !== (before?.version ?? 0) + 1) {
      problems.push(
        `the global log has ${described} after ${
          before === undefined ? "no event" : describeEvent(before)
        } of its stream`
      )
    }
    lastOfStream.set(event.streamId, event)
    const read = stream[event.version - 1]
    if (read === undefined || read.id !== event.id) {
      problems.push(`the global log has ${described}, which a read of its stream does not`)
    }
  }
  for (const [streamId, events] of audit.streams) {
    for (const event of events) {
      const logged = inLog.get(event.id)
      if (logged === undefined) {
        problems.push(`${streamId}@${event.version} is read from its stream but is not in the global log`)
      } else if (!samePlace(event, logged)) {
        problems.push(
          `${describeEvent(event)}, as its stream's read has it, is ${describeEvent(logged)} in the global log`
        )
      }
    }
  }
  return problems
}

/** The problems as one error message, the first few in full. */
export const report = (what: string, problems: ReadonlyArray<string>, shown = 20): string =>
  `${what} (${problems.length} problems):\n  ${problems.slice(0, shown).join("\n  ")}${
    problems.length > shown ? `\n  … and ${problems.length - shown} more` : ""
  }`
