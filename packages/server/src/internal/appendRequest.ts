import { Event, ExpectedVersion, StreamVersion } from "@concord/core"
import * as Schema from "effect/Schema"
import { type AppendRequest, maxEventsPerAppend } from "../Api.js"

const isEventType = Schema.is(Event.EventType)
const isEventId = Schema.is(Event.EventId)
const isMetadata = Schema.is(Event.Metadata)

const hasOwn = (o: object, key: string) => Object.prototype.hasOwnProperty.call(o, key)

const isObject = (u: unknown): u is Readonly<Record<string, unknown>> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

/** Whether an object's own keys are all among `allowed`. */
const keysWithin = (o: object, allowed: ReadonlySet<string>): boolean => {
  for (const key of Object.keys(o)) if (!allowed.has(key)) return false
  return true
}

const requestKeys = new Set(["expectedVersion", "events"])
const eventKeys = new Set(["id", "type", "data", "metadata"])

/** The expected version as `ExpectedVersion.FromJson` decodes it, or `undefined` where it would refuse it. */
const expectedVersionOf = (u: unknown): ExpectedVersion.ExpectedVersion | undefined => {
  if (u === "any") return ExpectedVersion.any
  if (u === "noStream") return ExpectedVersion.noStream
  return typeof u === "number" && Number.isInteger(u) && u >= 0 && u <= StreamVersion.max
    ? ExpectedVersion.exact(u)
    : undefined
}

/** An event as `Event.EventData` decodes it (its keys in the schema's order), or `undefined`. */
const eventOf = (u: unknown): Event.EventData | undefined => {
  if (!isObject(u) || !keysWithin(u, eventKeys) || !hasOwn(u, "type") || !hasOwn(u, "data")) return undefined
  const { data, id, metadata, type } = u
  if (!isEventType(type)) return undefined
  const withId = hasOwn(u, "id")
  const withMetadata = hasOwn(u, "metadata")
  if ((withId && !isEventId(id)) || (withMetadata && !isMetadata(metadata))) return undefined
  const checkedId = id as Event.EventId
  const checkedMetadata = metadata as Event.Metadata
  return withId
    ? (withMetadata ? { id: checkedId, type, data, metadata: checkedMetadata } : { id: checkedId, type, data })
    : (withMetadata ? { type, data, metadata: checkedMetadata } : { type, data })
}

/**
 * An append request's JSON as `AppendRequest` decodes it, for the requests clients send (an object of just its two
 * fields, each event of just its own), checked and built directly: the schema's decoding walks the same request
 * through its general machinery at several times the cost. `undefined` for anything else, valid or not, which the
 * schema then decodes, or refuses with the errors that say why: what this accepts, the schema accepts the same way
 * (a property test holds them to it), and it leaves the rest to it.
 *
 * @internal
 */
export const decodeCommon = (json: unknown): typeof AppendRequest.Type | undefined => {
  if (!isObject(json) || !keysWithin(json, requestKeys) || !hasOwn(json, "events")) return undefined
  const expectedVersion = expectedVersionOf(json.expectedVersion)
  const raw = json.events
  if (expectedVersion === undefined || !Array.isArray(raw) || raw.length > maxEventsPerAppend) return undefined
  const events: Array<Event.EventData> = []
  for (const item of raw) {
    const event = eventOf(item)
    if (event === undefined) return undefined
    events.push(event)
  }
  return { expectedVersion, events }
}
