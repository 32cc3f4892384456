// Workload 3: K writers on one hot stream, each deciding on what it read, taking a moment to think, then appending
// with the version it read; a share of the commands truly conflict (value changes), the rest commute (notes).
import {
  CommandHandler,
  Conflict,
  ConflictRegistry,
  Decider,
  Event,
  EventStore,
  ExpectedVersion,
  StreamId
} from "@concord/core"
import { Client, Events, Registry } from "@concord/example-crm"
import { CommandHandler as EmmettCommandHandler, getInMemoryEventStore } from "@event-driven-io/emmett"
import { Chunk, Effect, Schedule, Stream } from "effect"
import { type Figure, percentile, type Section, summarize } from "./Measure.js"
import * as Stores from "./Stores.js"

export interface ContentionSize {
  readonly writers: ReadonlyArray<number>
  readonly conflicting: ReadonlyArray<number>
  /** Commands per run, shared among the writers. */
  readonly commands: number
  readonly trials: number
}

type Command = "bump" | "note"

const decide = (command: Command, state: Client.Client, id: string): ReadonlyArray<Events.CrmEvent> =>
  command === "bump"
    ? [Events.ClientValueUpgraded.make({ value: state.value + 1 })]
    : [Events.MeetingNoteAdded.make({ noteId: id, author: "bench", text: id })]

// About a millisecond, with jitter: writers that paused exactly alike would fall into lockstep.
const think = () => new Promise((resolve) => setTimeout(resolve, 0.5 + Math.random()))

interface Outcome {
  readonly attempts: number
  readonly millis: number
  /** False when the command still conflicted after every retry. */
  readonly committed: boolean
}

interface Run {
  readonly outcomes: ReadonlyArray<Outcome>
  readonly seconds: number
}

const commands = (writer: number, count: number, conflicting: number): ReadonlyArray<Command> =>
  Array.from({ length: count }, (_, i) => ((writer * 7919 + i * 104729) % 100) < conflicting * 100 ? "bump" : "note")

const RETRIES = 100

// Retries back off exponentially from 1 ms with jitter, capped at 20 ms, as retry loops usually do.
const retry = Schedule.exponential("1 millis", 1.5).pipe(
  Schedule.jittered,
  Schedule.union(Schedule.spaced("20 millis")),
  Schedule.intersect(Schedule.recurs(RETRIES))
)

/** Concord's command handler with a registry (the CRM one, or an empty one: plain optimistic concurrency). */
const concordRun = async (
  registry: ConflictRegistry.ConflictRegistry<Events.CrmEvent, any>,
  writers: number,
  count: number,
  conflicting: number
): Promise<Run> => {
  const opened = await Stores.concordMemory()
  const stream = StreamId.make("client-hot")
  const options = { schema: Events.CrmEvent, registry }
  await opened.run(
    Effect.flatMap(
      EventStore.forDomain(options),
      (store) =>
        store.append(stream, ExpectedVersion.noStream, [Events.ClientRegistered.make({ name: "hot", value: 0 })])
    )
  )
  const results: Array<CommandHandler.Result<Events.CrmEvent, Client.Client>> = []
  const outcomes: Array<Outcome> = []
  const start = performance.now()
  await Promise.all(Array.from({ length: writers }, async (_, w) => {
    for (const [i, command] of commands(w, count, conflicting).entries()) {
      const decider = Decider.make({
        initialState: Client.initial,
        evolve: Client.evolve,
        decide: (_: Command, state: Client.Client) =>
          Effect.zipRight(Effect.promise(think), Effect.succeed(decide(command, state, `w${w}-${i}`)))
      })
      const begun = performance.now()
      const result = await opened.run(Effect.either(
        CommandHandler.handle(decider, stream, command, { ...options, retry })
      ))
      if (result._tag === "Right") results.push(result.right)
      outcomes.push({
        attempts: result._tag === "Right" ? result.right.attempts : RETRIES + 1,
        millis: performance.now() - begun,
        committed: result._tag === "Right"
      })
    }
  }))
  const seconds = (performance.now() - start) / 1000
  const log = await opened.run(
    Effect.flatMap(
      EventStore.forDomain(options),
      (store) => Effect.map(Stream.runCollect(store.read(stream)), Chunk.toArray)
    )
  )
  await opened.dispose()
  verify(registry, log, results)
  return { outcomes, seconds }
}

/**
 * The checker's rules for this workload: versions 1..n, one event per acknowledged command at the versions its
 * result names, and no acknowledged append past an event its registry says it conflicts with.
 */
const verify = (
  registry: ConflictRegistry.ConflictRegistry<any, any>,
  log: ReadonlyArray<Event.RecordedEvent<Events.CrmEvent>>,
  results: ReadonlyArray<CommandHandler.Result<Events.CrmEvent, Client.Client>>
) => {
  log.forEach((event, i) => {
    if (event.version !== i + 1) throw new Error(`version ${event.version} at position ${i + 1}`)
  })
  if (log.length !== results.length + 1) throw new Error(`${log.length - 1} events for ${results.length} commands`)
  const encode = (event: Events.CrmEvent) => Effect.runSync(Event.encode(Events.CrmEvent)(event))
  for (const { append, events } of results) {
    const stored = log[append.firstVersion - 1]
    if (stored?.data._tag !== events[0]!._tag) {
      throw new Error(`version ${append.firstVersion} is not the acknowledged event`)
    }
    const expected = append.firstVersion - 1 - append.rebasedOver
    const passed = log.slice(expected, append.firstVersion - 1).map((e) => ({ ...e, ...encode(e.data) }))
    if (Conflict.hasConflict(registry, passed, events.map(encode))) {
      throw new Error(`the append at ${append.firstVersion} was falsely accepted`)
    }
  }
}

/** Emmett's command handler with its retries on version conflicts, on its in-memory store. */
const emmettRun = async (writers: number, count: number, conflicting: number): Promise<Run> => {
  const store = getInMemoryEventStore()
  type EmmettEvent = { type: string; data: Record<string, unknown> }
  const evolve = (state: Client.Client, event: EmmettEvent) =>
    Client.evolve(state, { ...event.data, _tag: event.type } as unknown as Events.CrmEvent)
  const handle = EmmettCommandHandler<Client.Client, EmmettEvent>({
    evolve,
    initialState: () => Client.initial,
    retry: { onVersionConflict: RETRIES }
  })
  await store.appendToStream("client-hot", [{ type: "ClientRegistered", data: { name: "hot", value: 0 } }])
  const outcomes: Array<Outcome> = []
  const start = performance.now()
  await Promise.all(Array.from({ length: writers }, async (_, w) => {
    for (const [i, command] of commands(w, count, conflicting).entries()) {
      let attempts = 0
      const begun = performance.now()
      const committed = await handle(store, "client-hot", async (state) => {
        attempts++
        await think()
        return decide(command, state, `w${w}-${i}`).map(({ _tag, ...data }) => ({ type: _tag, data }))
      }).then(() => true, () => false)
      outcomes.push({ attempts, millis: performance.now() - begun, committed })
    }
  }))
  const seconds = (performance.now() - start) / 1000
  const { events } = await store.readStream("client-hot")
  const committed = outcomes.filter((o) => o.committed).length
  if (events.length !== committed + 1) throw new Error(`Emmett holds ${events.length} events for ${committed} commands`)
  return { outcomes, seconds }
}

export const run = async (size: ContentionSize): Promise<Section> => {
  const rows: Array<Figure> = []
  const notes: Array<string> = []
  const contenders = [
    {
      name: "Concord, CRM registry",
      run: (k: number, n: number, c: number) => concordRun(Registry.registry, k, n, c)
    },
    {
      name: "Concord, empty registry (plain optimistic concurrency)",
      run: (k: number, n: number, c: number) => concordRun(ConflictRegistry.make(Events.CrmEvent), k, n, c)
    },
    {
      name: "Emmett 0.42 command handler with retries",
      run: (k: number, n: number, c: number) => emmettRun(k, n, c)
    }
  ]
  for (const writers of size.writers) {
    const perWriter = Math.max(2, Math.round(size.commands / writers))
    for (const conflicting of size.conflicting) {
      const samples = contenders.map(() => ({
        firstTry: [] as Array<number>,
        goodput: [] as Array<number>,
        attempts: [] as Array<number>,
        p50: [] as Array<number>,
        p99: [] as Array<number>
      }))
      for (let round = 0; round < size.trials; round++) {
        for (const [c, contender] of contenders.entries()) {
          const { outcomes, seconds } = await contender.run(writers, perWriter, conflicting)
          const s = samples[c]!
          s.firstTry.push(100 * outcomes.filter((o) => o.attempts === 1).length / outcomes.length)
          const committed = outcomes.filter((o) => o.committed)
          s.goodput.push(committed.length / seconds)
          s.attempts.push(outcomes.reduce((n, o) => n + o.attempts, 0) / Math.max(1, committed.length))
          s.p50.push(percentile(outcomes.map((o) => o.millis), 50))
          s.p99.push(percentile(outcomes.map((o) => o.millis), 99))
        }
      }
      const label = `K=${writers}, ${Math.round(conflicting * 100)}% conflicting`
      contenders.forEach((contender, c) => {
        const s = samples[c]!
        rows.push(
          summarize(`${label}, ${contender.name}: first-try acceptance`, s.firstTry, "%"),
          summarize(`${label}, ${contender.name}: goodput`, s.goodput, "commands/s"),
          summarize(`${label}, ${contender.name}: attempts per command`, s.attempts, "attempts"),
          summarize(`${label}, ${contender.name}: p50 latency`, s.p50, "ms"),
          summarize(`${label}, ${contender.name}: p99 latency`, s.p99, "ms")
        )
      })
      const firstTry = (c: number) => summarize("", samples[c]!.firstTry, "%").median
      notes.push(
        `${label}: first-try acceptance ${firstTry(0).toFixed(0)}% (Concord) vs ${
          firstTry(1).toFixed(0)
        }% (plain) vs ` +
          `${firstTry(2).toFixed(0)}% (Emmett)`
      )
    }
  }
  return {
    id: "contention",
    title: "Contention on one hot stream",
    unit: "mixed",
    rows,
    notes:
      `About ${size.commands} commands per run, shared among the K writers; each command: load, decide after a pause of 0.5 to 1.5 ms (a user's form, a remote call), ` +
      `append with the version it read, retry on a conflict (re-read, decide again) up to ${RETRIES} times. ` +
      `Every Concord run's log is checked afterwards (versions 1..n, every acknowledged event where its result says, ` +
      `nothing accepted past a conflicting event); Emmett's event count is checked. ${notes.join("; ")}.`
  }
}
