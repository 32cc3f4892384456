// Child process of the memory workload: fills an in-memory store and prints its heap and RSS as JSON.
import { EventStore, ExpectedVersion, StreamId } from "@concord/core"
import { Effect } from "effect"

const events = Number(process.argv[2])
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {})

const program = Effect.gen(function*() {
  gc()
  const baselineHeap = process.memoryUsage().heapUsed
  const store = yield* EventStore.EventStore
  const batch = Array.from(
    { length: 100 },
    (_, i) => ({ type: "MeetingNoteAdded", data: { noteId: `n${i}`, author: "a", text: "note" } })
  )
  for (let i = 0; i < events / 100; i++) {
    yield* store.append(StreamId.make(`client-${i % 1000}`), ExpectedVersion.any, batch)
  }
  gc()
  const { heapUsed, rss } = process.memoryUsage()
  console.log(JSON.stringify({ heapUsed, rss, baselineHeap }))
})

Effect.runPromise(program.pipe(Effect.provide(EventStore.layerMemory())))
