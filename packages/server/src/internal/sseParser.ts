// Reads Server-Sent Events as the HTML standard's EventSource does (the fields Concord uses: id and data).
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"

/** One dispatched message: its data lines joined, and the last event id seen so far. @internal */
export interface Message {
  readonly id: string | undefined
  readonly data: string
}

interface State {
  readonly lastId: string | undefined
  readonly data: ReadonlyArray<string> | undefined
}

const step = (state: State, line: string): readonly [State, Option.Option<Message>] => {
  // A blank line dispatches the message: a message without data only sets the last id.
  if (line === "") {
    return [
      { lastId: state.lastId, data: undefined },
      state.data === undefined ? Option.none() : Option.some({ id: state.lastId, data: state.data.join("\n") })
    ]
  }
  if (line.startsWith(":")) return [state, Option.none()]
  const colon = line.indexOf(":")
  const field = colon === -1 ? line : line.slice(0, colon)
  const raw = colon === -1 ? "" : line.slice(colon + 1)
  const value = raw.startsWith(" ") ? raw.slice(1) : raw
  switch (field) {
    case "data":
      return [{ lastId: state.lastId, data: [...(state.data ?? []), value] }, Option.none()]
    case "id":
      return [value.includes("\u0000") ? state : { lastId: value, data: state.data }, Option.none()]
    default:
      return [state, Option.none()]
  }
}

/**
 * The messages of an event stream's text, split into lines. A message the stream ends in the middle of is dropped,
 * as EventSource drops it.
 *
 * @internal
 */
export const messages = <E, R>(text: Stream.Stream<string, E, R>): Stream.Stream<Message, E, R> =>
  text.pipe(
    Stream.splitLines,
    Stream.mapAccum({ lastId: undefined, data: undefined } as State, step),
    Stream.filterMap((message) => message)
  )
