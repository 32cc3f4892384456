import type * as Event from "../Event.js"
import type { Filter } from "../EventStore.js"
import { category } from "../StreamId.js"

/** @internal */
export const matches = (event: Pick<Event.RecordedEvent, "type" | "streamId">, filter: Filter | undefined): boolean =>
  filter === undefined ||
  ((filter.types === undefined || filter.types.includes(event.type)) &&
    (filter.categories === undefined || filter.categories.includes(category(event.streamId))))
