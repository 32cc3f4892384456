// What a filter of the global log becomes in the service's URL, which carries comma-separated lists of valid items.
import { Event, EventStore, Position } from "@concord/core"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as params from "./params.js"

/**
 * What a read of the global log sends, and the filter the client applies itself to what it gets (when a list holds
 * an item the URL cannot carry, the list is not sent and the client keeps the matching events).
 *
 * @internal
 */
export interface Split {
  readonly sent: params.FilterParams
  readonly local: EventStore.Filter | undefined
}

const isEventType = Schema.is(Event.EventType)
const isCategory = Schema.is(params.Category)

/**
 * One list: the items no event can match are left out (an event type the store would refuse, a category holding a
 * `-` or longer than any stream id), which keeps its meaning; the list is sent when every remaining item is one the
 * service accepts and holds no comma, and is otherwise applied here.
 */
const splitList = (
  list: ReadonlyArray<string> | undefined,
  canMatch: (item: string) => boolean,
  accepted: (item: string) => boolean
): { readonly sent: ReadonlyArray<string> | undefined; readonly local: boolean } => {
  if (list === undefined) return { sent: undefined, local: false }
  const matchable = list.filter(canMatch)
  return matchable.every((item) => accepted(item) && !item.includes(","))
    ? { sent: matchable, local: false }
    : { sent: undefined, local: true }
}

/** @internal */
export const split = (filter: EventStore.Filter | undefined): Split => {
  const types = splitList(filter?.types, isEventType, isEventType)
  const categories = splitList(
    filter?.categories,
    (category) => !category.includes("-") && category.length <= 512,
    isCategory
  )
  return {
    sent: { types: types.sent, categories: categories.sent },
    local: types.local || categories.local ? filter : undefined
  }
}

/**
 * The options of a read of the global log, checked as every store checks them (the same rule and words as the
 * stores' own check, which core keeps internal): an `after` that is not a `Position`
 * (or `"end"` for a subscription), a filter whose lists are not lists of strings, fail with `InvalidArgument`.
 *
 * @internal
 */
export const validate = (
  operation: "readAll" | "subscribe",
  options: { readonly after?: unknown; readonly limit?: unknown; readonly filter?: unknown } | undefined
): Effect.Effect<void, EventStore.InvalidArgument> => {
  const reason = problem(operation, options)
  return reason === undefined ? Effect.void : Effect.fail(new EventStore.InvalidArgument({ operation, reason }))
}

const problem = (
  operation: "readAll" | "subscribe",
  options: { readonly after?: unknown; readonly limit?: unknown; readonly filter?: unknown } | undefined
): string | undefined => {
  if (options === undefined) return undefined
  if (typeof options !== "object" || options === null) return "the options must be an object"
  const after = options.after
  if (after !== undefined && !Position.isPosition(after) && !(operation === "subscribe" && after === "end")) {
    return operation === "subscribe" ? "after must be a Position or \"end\"" : "after must be a Position"
  }
  if (operation === "readAll" && options.limit !== undefined && typeof options.limit !== "number") {
    return "limit must be a number"
  }
  const filter = options.filter
  if (filter === undefined) return undefined
  if (typeof filter !== "object" || filter === null || Array.isArray(filter)) return "filter must be an object"
  for (const key of ["types", "categories"] as const) {
    const list = (filter as Record<string, unknown>)[key]
    if (list !== undefined && (!Array.isArray(list) || !list.every((item) => typeof item === "string"))) {
      return `filter.${key} must be an array of strings`
    }
  }
  return undefined
}
