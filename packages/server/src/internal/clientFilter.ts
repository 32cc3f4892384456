// What a filter of the global log becomes in the service's URL, which carries comma-separated lists of valid items.
import type { EventStore } from "@concord/core"
import { Event } from "@concord/core"
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
