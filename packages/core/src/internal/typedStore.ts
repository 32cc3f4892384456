import * as Effect from "effect/Effect"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type { ConflictRegistry } from "../ConflictRegistry.js"
import type { EventData, EventSchema, ProposedEvent, RecordedEvent, Tagged } from "../Event.js"
import type { Filter, Service, Typed } from "../EventStore.js"
import { InvalidEventData, UndecodableEvent } from "../EventStoreError.js"
import * as internalEvent from "./event.js"

const isProposed = <A extends Tagged>(event: A | ProposedEvent<A>): event is ProposedEvent<A> =>
  !("_tag" in event) && "event" in event

const reason = (error: ParseResult.ParseError): string => ParseResult.TreeFormatter.formatErrorSync(error)

/** @internal */
export const make = <A extends Tagged>(
  store: Service,
  options: { readonly schema: EventSchema<A>; readonly registry: ConflictRegistry<A, any> }
): Typed<A> => {
  const encode = Schema.encode(options.schema)
  const decode = Schema.decodeUnknown(options.schema)
  const decodeRecorded = (recorded: RecordedEvent) =>
    decode(internalEvent.join(recorded)).pipe(
      Effect.mapBoth({
        onFailure: (error) =>
          new UndecodableEvent({
            streamId: recorded.streamId,
            version: recorded.version,
            type: recorded.type,
            reason: reason(error)
          }),
        onSuccess: (data): RecordedEvent<A> => ({ ...recorded, data })
      })
    )
  // The global log holds other domains' events too: a typed reader reads only its domain's types.
  const domainTypes: ReadonlyArray<string> = internalEvent.tags(options.schema)
  const domainFilter = (filter: Filter | undefined): Filter => {
    const types = filter?.types
    return {
      ...filter,
      types: types === undefined || !Array.isArray(types)
        ? types ?? domainTypes
        : types.filter((type) => domainTypes.includes(type))
    }
  }
  return {
    schema: options.schema,
    registry: options.registry,
    append: (streamId, expected, events, appendOptions) =>
      Effect.forEach(events, (item, index) => {
        const proposed = isProposed(item) ? item : { event: item }
        return encode(proposed.event).pipe(
          Effect.mapBoth({
            onFailure: (error) =>
              new InvalidEventData({ streamId, index, type: proposed.event._tag, reason: reason(error) }),
            onSuccess: (encoded): EventData => {
              const { data, type } = internalEvent.split(encoded)
              return {
                type,
                data,
                ...(proposed.id === undefined ? {} : { id: proposed.id }),
                ...(proposed.metadata === undefined ? {} : { metadata: proposed.metadata })
              }
            }
          })
        )
      }).pipe(
        Effect.flatMap((encoded) =>
          store.append(streamId, expected, encoded, { registry: appendOptions?.registry ?? options.registry })
        )
      ),
    read: (streamId, readOptions) => store.read(streamId, readOptions).pipe(Stream.mapEffect(decodeRecorded)),
    readAll: (readAllOptions) =>
      store.readAll({ ...readAllOptions, filter: domainFilter(readAllOptions?.filter) }).pipe(
        Stream.mapEffect(decodeRecorded)
      ),
    subscribe: (subscribeOptions) =>
      store.subscribe({ ...subscribeOptions, filter: domainFilter(subscribeOptions?.filter) }).pipe(
        Stream.mapEffect(decodeRecorded)
      ),
    version: store.version
  }
}
