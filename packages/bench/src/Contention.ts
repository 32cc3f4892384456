// Workload 3: contention on one hot stream, the way the product is used: K people edit the same client record. Each
// writer opens the record (reads and folds the stream, noting its version), thinks for a jittered while during which
// the others commit, decides on what it saw and appends with the version it opened. Plain optimistic concurrency
// turns such a stale append away whenever anything was committed meanwhile; Concord's registry only when something
// committed meanwhile truly conflicts. A turned-away command is retried the way each command handler does it: read
// what was committed since, decide again, append, backing off between tries.
import {
  CommandHandler,
  Conflict,
  ConflictRegistry,
  Decider,
  Event,
  EventStore,
  ExpectedVersion,
  Position,
  StreamId,
  StreamVersion
} from "@concord/core"
import { Client, Events, Registry } from "@concord/example-crm"
import * as Checker from "@concord/testing/Checker"
import { Effect, Layer, Schedule, Stream } from "effect"
import type * as Contenders from "./Contenders.js"
import { type Figure, percentile, type Section, summarize } from "./Measure.js"
import * as Stores from "./Stores.js"

export interface ContentionSize {
  readonly writers: ReadonlyArray<number>
  readonly conflicting: ReadonlyArray<number>
  /** Commands per run, shared among the writers... */
  readonly commands: number
  /** ...but at least this many for each writer, so that every writer races many times. */
  readonly perWriter: number
  readonly trials: number
}

type Command = "bump" | "note"

const STREAM = "client-hot"

const decide = (command: Command, state: Client.Client, id: string): ReadonlyArray<Events.CrmEvent> =>
  command === "bump"
    ? [Events.ClientValueUpgraded.make({ value: state.value + 1 })]
    : [Events.MeetingNoteAdded.make({ noteId: id, author: "bench", text: id })]

/** The events as stores hold them: the type, and the rest of the event as data. */
const encode = (events: ReadonlyArray<Events.CrmEvent>) =>
  events.map(({ _tag, ...data }) => ({ type: _tag, data: data as Record<string, unknown> }))

const fold: Checker.Fold<Client.Client> = {
  initialState: Client.initial,
  evolve: (state, event) => Client.evolve(state, { ...(event.data as object), _tag: event.type } as Events.CrmEvent)
}

// The time between opening the record and saving it: 1 to 6 ms, uniformly jittered, so that writers never fall into
// lockstep and, at every K, others commit while a writer thinks (a commit takes well under a millisecond here).
const THINK = { min: 1, max: 6 }
const think = () => new Promise((resolve) => setTimeout(resolve, THINK.min + Math.random() * (THINK.max - THINK.min)))

// At most this many appends per command: the save, then the command handler's tries.
const RETRIES = 100

// Retries back off exponentially from 1 ms with jitter, capped at 20 ms, as retry loops usually do; Emmett's
// handler is given the same shape below instead of its default (100 ms, then 150 ms, ...).
const retry = Schedule.exponential("1 millis", 1.5).pipe(
  Schedule.jittered,
  Schedule.union(Schedule.spaced("20 millis")),
  Schedule.intersect(Schedule.recurs(RETRIES - 1))
)

/** Which command each writer issues, in order: a `conflicting` share of value changes, spread evenly. */
const commands = (writer: number, count: number, conflicting: number): ReadonlyArray<Command> =>
  Array.from({ length: count }, (_, i) => ((writer * 7919 + i * 104729) % 100) < conflicting * 100 ? "bump" : "note")

interface Outcome {
  /** Appends this command took, the first included. */
  readonly attempts: number
  /** From the save (after the think time) to the answer. */
  readonly millis: number
  /** False when the command still conflicted after every retry. */
  readonly committed: boolean
}

interface Run {
  readonly outcomes: ReadonlyArray<Outcome>
  readonly seconds: number
  readonly falseRejections: number
}

/**
 * Every append a run made, for the checker, and each turned-away stale append with the version the stream was at
 * then, to tell true conflicts from false ones afterwards.
 */
interface Ledger {
  readonly attempts: Array<Checker.Attempt>
  readonly rejections: Array<
    { readonly expected: number; readonly actual: number; readonly events: ReadonlyArray<Conflict.Proposed> }
  >
}

const ledger = (): Ledger => ({ attempts: [], rejections: [] })

/**
 * Checks the run's log with the project's checker (no loss, no duplicates, contiguous versions, nothing accepted
 * past a conflicting event, the fold of the log equals the fold of the acknowledged events) and counts the false
 * rejections: turned-away appends past which nothing was committed that conflicts by the CRM domain's own rules.
 */
const audit = (name: string, log: ReadonlyArray<Event.RecordedEvent>, book: Ledger): number => {
  Checker.assertSound({ logs: new Map([[STREAM, log]]), attempts: book.attempts, fold })
  if (book.rejections.length === 0) return 0
  // A rejection names the version the stream was at; one that cannot be placed in the log would hide a bug here.
  for (const { actual } of book.rejections) {
    if (!(actual <= log.length)) throw new Error(`${name}: a rejection at version ${actual} of ${log.length}`)
  }
  return book.rejections.filter(({ actual, events, expected }) =>
    !Conflict.hasConflict(Registry.registry, log.slice(expected, actual), events)
  ).length
}

/** The memory store, with every append written down in `book`, ids on all its events so the checker can find them. */
const recordingMemory = (book: Ledger) =>
  Layer.effect(
    EventStore.EventStore,
    Effect.map(EventStore.makeMemory(), (store): EventStore.Service => ({
      ...store,
      append: (streamId, expectedVersion, events, options) => {
        const identified = events.map((event) => ({ ...event, id: event.id ?? Event.makeId() }))
        const attempt = {
          streamId,
          expectedVersion,
          events: identified,
          registry: options?.registry ?? ConflictRegistry.untyped()
        }
        return store.append(streamId, expectedVersion, identified, options).pipe(
          Effect.tapBoth({
            onSuccess: (result) =>
              Effect.sync(() => book.attempts.push({ ...attempt, outcome: { _tag: "Acknowledged", result } })),
            onFailure: (error) =>
              Effect.sync(() => {
                book.attempts.push({ ...attempt, outcome: { _tag: "Rejected", error: error._tag } })
                if (error._tag === "ConcurrencyConflict") {
                  book.rejections.push({
                    expected: error.expectedVersion,
                    actual: error.actualVersion,
                    events: identified
                  })
                }
              })
          })
        )
      }
    }))
  )

interface Held<State> {
  readonly state: State
  readonly version: number
}

/**
 * Concord's typed store and command handler with a registry: the CRM one, or an empty one (plain optimistic
 * concurrency). The save is the stale append itself; when it is turned away, the command handler takes over.
 */
const concordRun = async (
  registry: ConflictRegistry.ConflictRegistry<Events.CrmEvent, any>,
  writers: number,
  count: number,
  conflicting: number
): Promise<Run> => {
  const book = ledger()
  const opened = await Stores.concord(recordingMemory(book))
  const stream = StreamId.make(STREAM)
  const options = { schema: Events.CrmEvent, registry }
  const store = await opened.run(EventStore.forDomain(options))
  await opened.run(
    store.append(stream, ExpectedVersion.noStream, [Events.ClientRegistered.make({ name: "hot", value: 0 })])
  )
  // Opening the record: the writer's screen already holds it, so it reads only what was committed since.
  const open = (held: Held<Client.Client>) =>
    opened.run(Stream.runFold(
      store.read(stream, { from: held.version + 1 }),
      held,
      (acc, recorded): Held<Client.Client> => ({
        state: Client.evolve(acc.state, recorded.data),
        version: recorded.version
      })
    ))
  const outcomes: Array<Outcome> = []
  const start = performance.now()
  await Promise.all(Array.from({ length: writers }, async (_, w) => {
    let held: Held<Client.Client> = { state: Client.initial, version: 0 }
    for (const [i, command] of commands(w, count, conflicting).entries()) {
      const decider = Decider.make({
        initialState: Client.initial,
        evolve: Client.evolve,
        decide: (_: Command, state: Client.Client) => Effect.succeed(decide(command, state, `w${w}-${i}`))
      })
      held = await open(held)
      await think()
      const begun = performance.now()
      const saved = await opened.run(Effect.either(
        store.append(stream, ExpectedVersion.exact(held.version), decide(command, held.state, `w${w}-${i}`))
      ))
      if (saved._tag === "Left" && saved.left._tag !== "ConcurrencyConflict") throw saved.left
      const retried = saved._tag === "Right" ? undefined : await opened.run(Effect.either(
        CommandHandler.handle(decider, stream, command, { ...options, retry })
      ))
      outcomes.push({
        attempts: retried === undefined ? 1 : 1 + (retried._tag === "Right" ? retried.right.attempts : RETRIES),
        millis: performance.now() - begun,
        committed: retried === undefined || retried._tag === "Right"
      })
    }
  }))
  const seconds = (performance.now() - start) / 1000
  const logs = await opened.run(Checker.readLogs([STREAM]))
  await opened.dispose()
  return { outcomes, seconds, falseRejections: audit("Concord", logs.get(STREAM) ?? [], book) }
}

/**
 * Emmett's in-memory store, with every append written down in `book`. Emmett assigns its own event ids, so the
 * checker's ids travel in the metadata.
 */
const recordingEmmett = (emmett: Contenders.Emmett, book: Ledger): Contenders.EmmettStore => {
  const store = emmett.getInMemoryEventStore()
  const appendToStream: Contenders.EmmettStore["appendToStream"] = async (streamName, events, options) => {
    const identified = events.map((event) => ({ ...event, metadata: { concordId: Event.makeId() } }))
    const expected = options?.expectedStreamVersion
    const attempt = {
      streamId: streamName,
      expectedVersion: typeof expected === "bigint"
        ? ExpectedVersion.exact(Number(expected))
        : ExpectedVersion.noStream,
      events: identified.map((event) => ({
        id: event.metadata.concordId as Event.EventId,
        type: event.type,
        data: event.data
      })),
      registry: ConflictRegistry.untyped()
    }
    try {
      const appended = await store.appendToStream(streamName, identified, options)
      const last = Number(appended.nextExpectedStreamVersion)
      book.attempts.push({
        ...attempt,
        outcome: {
          _tag: "Acknowledged",
          result: {
            streamId: StreamId.make(streamName),
            firstVersion: StreamVersion.make(last - events.length + 1),
            lastVersion: StreamVersion.make(last),
            rebasedOver: 0
          }
        }
      })
      return appended
    } catch (error) {
      book.attempts.push({ ...attempt, outcome: { _tag: "Rejected", error: String(error) } })
      if (emmett.isExpectedVersionConflictError(error)) {
        book.rejections.push({ expected: Number(expected), actual: Number(error.current), events: attempt.events })
      }
      throw error
    }
  }
  return { ...store, appendToStream }
}

/**
 * Emmett's events read back in the shape the checker reads: ids from the metadata, versions from the stream
 * positions, and a log position in read order (one stream: the version order).
 */
const emmettLog = async (store: Contenders.EmmettStore): Promise<ReadonlyArray<Event.RecordedEvent>> => {
  const { events } = await store.readStream(STREAM)
  return events.map((event, index) => ({
    id: event.metadata.concordId as Event.EventId,
    streamId: StreamId.make(STREAM),
    version: StreamVersion.make(Number(event.metadata.streamPosition)),
    position: Position.make({ sequence: BigInt(index + 1) }),
    type: event.type,
    data: event.data,
    metadata: {},
    recordedAt: new Date(0)
  }))
}

/**
 * Emmett's in-memory store and command handler with its retries. The save is the stale append with the version the
 * writer opened (Emmett's handler would decide on the current state instead); when it is turned away, the command
 * handler takes over: it reads the stream again, decides again and appends, retrying.
 */
const emmettRun = async (
  emmett: Contenders.Emmett,
  writers: number,
  count: number,
  conflicting: number
): Promise<Run> => {
  const book = ledger()
  const store = recordingEmmett(emmett, book)
  const evolve = (state: Client.Client, event: Contenders.EmmettRecordedEvent) => fold.evolve(state, event)
  const handle = emmett.CommandHandler<Client.Client>({
    evolve,
    initialState: () => Client.initial,
    retry: {
      onVersionConflict: {
        retries: RETRIES - 1,
        minTimeout: 1,
        maxTimeout: 20,
        factor: 1.5,
        randomize: true,
        shouldRetryError: emmett.isExpectedVersionConflictError
      }
    }
  })
  await store.appendToStream(STREAM, encode([Events.ClientRegistered.make({ name: "hot", value: 0 })]), {
    expectedStreamVersion: emmett.STREAM_DOES_NOT_EXIST
  })
  const open = async (held: Held<Client.Client>): Promise<Held<Client.Client>> => {
    const read = await store.readStream(STREAM, { from: BigInt(held.version) })
    return { state: read.events.reduce(evolve, held.state), version: Number(read.currentStreamVersion) }
  }
  const outcomes: Array<Outcome> = []
  const start = performance.now()
  await Promise.all(Array.from({ length: writers }, async (_, w) => {
    let held: Held<Client.Client> = { state: Client.initial, version: 0 }
    for (const [i, command] of commands(w, count, conflicting).entries()) {
      held = await open(held)
      await think()
      const begun = performance.now()
      let attempts = 1
      const saved = await store.appendToStream(STREAM, encode(decide(command, held.state, `w${w}-${i}`)), {
        expectedStreamVersion: BigInt(held.version)
      }).then(() => true, (error) => {
        if (!emmett.isExpectedVersionConflictError(error)) throw error
        return false
      })
      const committed = saved || await handle(store, STREAM, (state) => {
        attempts++
        return encode(decide(command, state, `w${w}-${i}`))
      }).then(() => true, () => false)
      outcomes.push({ attempts, millis: performance.now() - begun, committed })
    }
  }))
  const seconds = (performance.now() - start) / 1000
  return { outcomes, seconds, falseRejections: audit("Emmett", await emmettLog(store), book) }
}

/** Concord with its registry, then plain optimistic concurrency, then Emmett when it is installed. */
const contendersOf = (emmett: Contenders.Emmett | undefined) => [
  {
    name: "Concord, CRM registry",
    run: (k: number, n: number, c: number) => concordRun(Registry.registry, k, n, c)
  },
  {
    name: "Concord, empty registry (plain optimistic concurrency)",
    run: (k: number, n: number, c: number) => concordRun(ConflictRegistry.make(Events.CrmEvent), k, n, c)
  },
  ...(emmett === undefined ? [] : [{
    name: "Emmett 0.42 command handler with retries",
    run: (k: number, n: number, c: number) => emmettRun(emmett, k, n, c)
  }])
]

const metrics = [
  { name: "first-try acceptance", unit: "%", of: (run: Run) => 100 * share(run, (o) => o.attempts === 1) },
  {
    name: "goodput",
    unit: "commands/s",
    of: (run: Run) => run.outcomes.filter((o) => o.committed).length / run.seconds
  },
  {
    name: "attempts per committed command",
    unit: "attempts",
    of: (run: Run) =>
      run.outcomes.reduce((n, o) => n + o.attempts, 0) / Math.max(1, run.outcomes.filter((o) => o.committed).length)
  },
  { name: "p50 latency", unit: "ms", of: (run: Run) => percentile(run.outcomes.map((o) => o.millis), 50) },
  { name: "p99 latency", unit: "ms", of: (run: Run) => percentile(run.outcomes.map((o) => o.millis), 99) },
  { name: "false rejections", unit: "appends", of: (run: Run) => run.falseRejections }
] as const

const share = (run: Run, predicate: (outcome: Outcome) => boolean) =>
  run.outcomes.filter(predicate).length / run.outcomes.length

/** The row names, shared with the report's targets. */
export const rowName = (writers: number, conflicting: number, contender: string, metric: string) =>
  `K=${writers}, ${Math.round(conflicting * 100)}% conflicting, ${contender}: ${metric}`

export const ratioName = (writers: number, conflicting: number) =>
  `K=${writers}, ${Math.round(conflicting * 100)}% conflicting: first-try acceptance, Concord / plain`

export const run = async (size: ContentionSize, emmett: Contenders.Emmett | undefined): Promise<Section> => {
  const rows: Array<Figure> = []
  const contenders = contendersOf(emmett)
  for (const writers of size.writers) {
    const perWriter = Math.max(size.perWriter, Math.ceil(size.commands / writers))
    for (const conflicting of size.conflicting) {
      const samples = contenders.map(() => metrics.map(() => [] as Array<number>))
      const ratios: Array<number> = []
      for (let round = 0; round < size.trials; round++) {
        // Concord's two registries run next to each other in every round; the order turns around every round.
        const runs: Array<Run> = []
        const order = contenders.map((_, c) => round % 2 === 0 ? c : contenders.length - 1 - c)
        for (const c of order) {
          const result = await contenders[c]!.run(writers, perWriter, conflicting)
          runs[c] = result
          metrics.forEach((metric, m) => samples[c]![m]!.push(metric.of(result)))
        }
        // Each round's ratio pairs runs made side by side; a plain run that accepted nothing first try counts as one
        // command, so the ratio stays finite and errs low.
        const floor = 100 / runs[1]!.outcomes.length
        ratios.push(metrics[0].of(runs[0]!) / Math.max(metrics[0].of(runs[1]!), floor))
      }
      contenders.forEach((contender, c) =>
        metrics.forEach((metric, m) =>
          rows.push(summarize(rowName(writers, conflicting, contender.name, metric.name), samples[c]![m]!, metric.unit))
        )
      )
      rows.push(summarize(ratioName(writers, conflicting), ratios, "x"))
    }
  }
  const perRun = size.writers.map((k) => `${Math.max(size.perWriter, Math.ceil(size.commands / k)) * k} at K=${k}`)
  return {
    id: "contention",
    title: "Contention on one hot stream",
    unit: "mixed",
    rows,
    notes: `Commands per run: ${perRun.join(", ")}. Each writer opens the record (reads and folds the stream, noting ` +
      `its version), thinks ${THINK.min} to ${THINK.max} ms (uniform jitter) while the others commit, decides on what ` +
      `it opened and appends with that version; a conflicting share of the commands are value changes (which conflict ` +
      `with each other), the rest meeting notes (which commute). A turned-away command is retried by the command ` +
      `handler (read what was committed since, decide again, append), backing off exponentially from 1 ms with ` +
      `jitter up to 20 ms, at most ${
        RETRIES + 1
      } appends. Latency runs from the save (after thinking) to the answer. A ` +
      `false rejection is a turned-away append past which nothing was committed that conflicts by the CRM domain's ` +
      `own registry. After every run the log of each store (Emmett's read back and adapted) passes ` +
      `@concord/testing's Checker: no loss, no duplicates, contiguous versions, nothing accepted past a conflicting ` +
      `event, and the fold of the log equals the fold of the acknowledged events. Each round runs every contender ` +
      `once, Concord's two registries next to each other, the order turning around every round; ${size.trials} ` +
      `rounds. The ratio pairs the Concord and plain runs of the same round (a plain run with no first-try ` +
      `acceptance counts as one command).` +
      (emmett === undefined ? " Emmett 0.42 was not measured in this run." : "")
  }
}
