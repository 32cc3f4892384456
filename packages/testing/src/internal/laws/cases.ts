// The cases a law checks a pair on: states the system can really be in (the decider run on generated commands), or
// folded from arbitrary events, or the caller's own; events of the pair's two types; commands that produce them.
import * as Exit from "effect/Exit"
import * as FastCheck from "effect/FastCheck"
import type * as AST from "effect/SchemaAST"
import type { Keyed, Pool, Shape } from "./domain.js"
import { isolated, keyed, memberArbitrary, resolve, tagOfValue } from "./domain.js"

/** How a decision came out, run synchronously: the events, or undefined when the command failed. */
export type Decide<Command, A, State> = (command: Command, state: State) => Exit.Exit<ReadonlyArray<A>, unknown>

/** What the laws know of a domain. */
export interface Domain<A, State, Command> {
  readonly events: Shape<A>
  readonly commands: Shape<Command> | undefined
  readonly keys: ReadonlyMap<string, AST.AST>
  readonly initialState: State
  readonly evolve: (state: State, event: A) => State
  readonly decide: Decide<Command, A, State> | undefined
  readonly states: FastCheck.Arbitrary<State> | undefined
  readonly maxHistory: number
  readonly maxBehind: number
  /** The key values of the run: every case draws its key fields from them. */
  readonly pool: Pool
  /** States drawn once per run, shortest history first, that cases start from. */
  readonly bank: ReadonlyArray<History<A, State>> | undefined
}

/** A state a case starts from, with the events that led to it (none for a state the caller generated). */
export interface History<A, State> {
  readonly events: ReadonlyArray<A>
  readonly state: State
}

/** A draw that becomes a value once the case's pool of key values is known. */
export type Draw<T> = (pool: Pool) => T

const resolver = <T>(domain: Domain<any, any, any>, shape: Shape<T>) => (drawn: Keyed<T>) => (pool: Pool) =>
  resolve(drawn, pool, domain.keys, shape.members)

/** Keyed draws of events: of one type, or of any. */
export const eventDraw = <A>(domain: Domain<A, any, any>, tag?: string): FastCheck.Arbitrary<Draw<A>> =>
  keyed(tag === undefined ? domain.events.arbitrary : memberArbitrary(domain.events, tag), domain.keys).map(
    resolver(domain, domain.events)
  )

/** Keyed draws of commands: of the given tags (when the commands have tags), or of any. */
export const commandDraw = <Command>(
  domain: Domain<any, any, Command>,
  shape: Shape<Command>,
  tags?: ReadonlyArray<string>
): FastCheck.Arbitrary<Draw<Command>> => {
  const arbitrary = tags === undefined || tags.length === 0
    ? shape.arbitrary
    : FastCheck.oneof(...tags.map((tag) => memberArbitrary(shape, tag)))
  return keyed(arbitrary, domain.keys).map(resolver(domain, shape))
}

const sequence = <T>(draws: ReadonlyArray<Draw<T>>): Draw<ReadonlyArray<T>> => (pool) => draws.map((draw) => draw(pool))

/** Runs commands one after another from a state, keeping what each successful decision produced. */
export const run = <A, State, Command>(
  domain: Domain<A, State, Command>,
  state: State,
  commands: ReadonlyArray<Command>
): History<A, State> => {
  const events: Array<A> = []
  let current = state
  for (const command of commands) {
    const decision = domain.decide!(command, current)
    if (Exit.isFailure(decision)) continue
    for (const event of decision.value) {
      events.push(event)
      current = domain.evolve(current, event)
    }
  }
  return { events, state: current }
}

const fold = <A, State>(domain: Domain<A, State, any>, state: State, events: ReadonlyArray<A>): History<A, State> => ({
  events,
  state: events.reduce(domain.evolve, state)
})

/**
 * States to start from: the run's bank, or the caller's own states, or states folded from arbitrary events (which
 * reach states no command sequence does).
 */
export const histories = <A, State>(domain: Domain<A, State, any>): FastCheck.Arbitrary<Draw<History<A, State>>> => {
  const bank = domain.bank
  if (bank !== undefined && bank.length > 0) return FastCheck.nat({ max: bank.length - 1 }).map((i) => () => bank[i]!)
  if (domain.states !== undefined) return domain.states.map((state) => () => ({ events: [], state }))
  return FastCheck.array(eventDraw(domain), { maxLength: domain.maxHistory }).map((draws) => (pool: Pool) =>
    fold(domain, domain.initialState, sequence(draws)(pool))
  )
}

/** A commutation case: a state, then a proposed and a committed event of the pair's types. */
export interface CommutationCase<A, State> {
  readonly history: History<A, State>
  readonly proposed: A
  readonly committed: A
}

/** Commutation cases for one pair, with the pool drawn alongside so that keys collide often. */
export const commutationCases = <A, State>(
  domain: Domain<A, State, any>,
  proposed: string,
  committed: string
): FastCheck.Arbitrary<Draw<CommutationCase<A, State>>> =>
  FastCheck.tuple(histories(domain), eventDraw(domain, proposed), eventDraw(domain, committed)).map(
    ([history, p, c]) => (pool: Pool) => ({ history: history(pool), proposed: p(pool), committed: c(pool) })
  )

/** A decision case: a stale state, the command decided on it, and what was committed behind the writer's back. */
export interface DecisionCase<A, State, Command> {
  readonly history: History<A, State>
  readonly command: Command
  /** The commands another writer ran from the stale state, when the committed events came from the decider. */
  readonly behindCommands: ReadonlyArray<Command> | undefined
  readonly behind: ReadonlyArray<A>
}

/**
 * Decision cases for one pair: a command that has produced the proposed type, and events committed since that end
 * with the committed type. Those are mostly reachable (another writer's commands run from the stale state), and
 * sometimes arbitrary events, as a store holding events from elsewhere may have them.
 */
export const decisionCases = <A, State, Command>(
  domain: Domain<A, State, Command>,
  shape: Shape<Command>,
  exploration: Exploration<A, State, Command>,
  proposed: string,
  committed: string
): FastCheck.Arbitrary<Draw<DecisionCase<A, State, Command>>> => {
  const { producedOn, producers } = exploration
  // Often nothing else behind the writer's back, so that the pair itself decides most cases.
  const before = <T>(draw: FastCheck.Arbitrary<T>) =>
    FastCheck.oneof(FastCheck.constant([]), FastCheck.array(draw, { maxLength: domain.maxBehind - 1 }))
  // The last command behind is mostly one that produced the committed type on the stale state when explored.
  const reachableBehind = FastCheck.tuple(
    before(commandDraw(domain, shape)),
    FastCheck.nat(),
    commandDraw(domain, shape, producers.get(committed))
  ).map(([others, pick, drawn]) => (pool: Pool, stale: History<A, State>) => {
    const known = producedOn.get(stale)?.get(committed)
    const last = known !== undefined && pick % 4 !== 0 ? known[pick % known.length]! : drawn(pool)
    const commands = [...sequence(others)(pool), last]
    return { commands, events: run(domain, stale.state, commands).events } as const
  })
  const arbitraryBehind = FastCheck.tuple(before(eventDraw(domain)), eventDraw(domain, committed))
    .map(([others, last]) => (pool: Pool) => ({ commands: undefined, events: [...sequence(others)(pool), last(pool)] }))
  const behind = FastCheck.oneof(
    { weight: 3, arbitrary: reachableBehind },
    { weight: 1, arbitrary: arbitraryBehind }
  )
  // Mostly a command that produced the proposed type when explored, on its state (one where the committed type was
  // produced too, when there is one); sometimes a state and a command drawn afresh.
  const proposing = exploration.found.get(proposed) ?? []
  const both = proposing.filter((found) => producedOn.get(found.history)?.has(committed))
  const seeds = both.length > 0 ? both : proposing
  const drawn = FastCheck.tuple(histories(domain), commandDraw(domain, shape, producers.get(proposed))).map((
    [history, command]
  ) =>
  (pool: Pool): Found<A, State, Command> => ({ history: history(pool), command: command(pool) }))
  const start = seeds.length === 0 ? drawn : FastCheck.oneof(
    { weight: 3, arbitrary: FastCheck.nat({ max: seeds.length - 1 }).map((i) => () => seeds[i]!) },
    { weight: 1, arbitrary: drawn }
  )
  return FastCheck.tuple(start, behind).map(([startDraw, behindDraw]) => (pool: Pool) => {
    const { command, history } = startDraw(pool)
    // What was committed since costs decisions: worked out only for a case whose stale decision counts.
    let since: ReturnType<typeof behindDraw> | undefined
    const committedSince = () => (since ??= behindDraw(pool, history))
    return {
      history,
      command,
      get behindCommands() {
        return committedSince().commands
      },
      get behind() {
        return committedSince().events
      }
    }
  })
}

/**
 * What running generated commands on the run's states found: which command tags have produced each event type, and
 * on which states. That directs a pair's decision cases to commands that can produce its proposed type, decided on
 * states where they did.
 */
export interface Exploration<A, State, Command> {
  readonly producers: ReadonlyMap<string, ReadonlyArray<string>>
  readonly states: ReadonlyMap<string, ReadonlyArray<History<A, State>>>
  /** For each event type, every (state, command) that produced it, shortest history first. */
  readonly found: ReadonlyMap<string, ReadonlyArray<Found<A, State, Command>>>
  /** For each state, the commands that produced each event type on it. */
  readonly producedOn: ReadonlyMap<History<A, State>, ReadonlyMap<string, ReadonlyArray<Command>>>
}

/** A command that succeeded on a state. */
export interface Found<A, State, Command> {
  readonly history: History<A, State>
  readonly command: Command
}

/** How many commands of each tag an exploration decides on each state of the bank. */
const commandsPerState = 1

/** Explores the run's states with generated commands. */
export const explore = <A, State, Command>(
  domain: Domain<A, State, Command>,
  shape: Shape<Command>,
  seed: number
): Exploration<A, State, Command> => {
  const producers = new Map<string, Set<string>>()
  const states = new Map<string, Set<History<A, State>>>()
  const found = new Map<string, Array<Found<A, State, Command>>>()
  const producedOn = new Map<History<A, State>, Map<string, Array<Command>>>()
  // Every state of the bank with commands of every tag: a type only a deep state allows is found wherever it is.
  const tags: ReadonlyArray<string | undefined> = shape.members.size === 0
    ? [undefined]
    : Array.from(shape.members.keys())
  const bank = domain.bank ?? []
  const draws = tags.map((tag) =>
    FastCheck.sample(commandDraw(domain, shape, tag === undefined ? undefined : [tag]), {
      ...isolated,
      seed: seed + tags.indexOf(tag),
      numRuns: bank.length * commandsPerState
    })
  )
  for (const [i, stale] of bank.entries()) {
    for (const tagged of draws) {
      for (let k = 0; k < commandsPerState; k++) explored(stale, tagged[i * commandsPerState + k]!(domain.pool))
    }
  }
  function explored(stale: History<A, State>, decided: Command) {
    const decision = domain.decide!(decided, stale.state)
    if (Exit.isFailure(decision)) return
    const commandTag = tagOfValue(decided)
    for (const event of decision.value) {
      const eventTag = tagOfValue(event)
      if (eventTag === undefined) continue
      if (commandTag !== undefined) producers.set(eventTag, (producers.get(eventTag) ?? new Set()).add(commandTag))
      states.set(eventTag, (states.get(eventTag) ?? new Set()).add(stale))
      const on = producedOn.get(stale) ?? new Map<string, Array<Command>>()
      producedOn.set(stale, on)
      const commands = on.get(eventTag) ?? []
      if (commands.includes(decided)) continue
      on.set(eventTag, [...commands, decided])
      found.set(eventTag, [...(found.get(eventTag) ?? []), { history: stale, command: decided }])
    }
  }
  // In the bank's order, shortest history first, so that shrinking still goes to the shortest.
  const order = new Map(domain.bank?.map((history, i) => [history, i]))
  return {
    found,
    producedOn,
    producers: new Map(Array.from(producers, ([tag, set]) => [tag, Array.from(set)])),
    states: new Map(
      Array.from(
        states,
        ([tag, set]) => [tag, Array.from(set).sort((a, b) => (order.get(a) ?? 0) - (order.get(b) ?? 0))]
      )
    )
  }
}

/** How many states a run draws once and starts its cases from. */
export const bankSize = 160

/**
 * Reachable states, by a random walk: from a state already reached (at first the initial one), a generated command;
 * when it succeeds, the state it leads to is reached too. Failed commands cost one decision and lead nowhere, so the
 * walk gets as deep as the domain goes (a task created, assigned, completed, then reopened) where a sequence of
 * random commands would mostly fail early.
 */
const walk = <A, State, Command>(
  domain: Domain<A, State, Command>,
  shape: Shape<Command>,
  seed: number,
  size: number
): ReadonlyArray<History<A, State>> => {
  const reached: Array<History<A, State>> = [{ events: [], state: domain.initialState }]
  const steps = FastCheck.sample(FastCheck.tuple(FastCheck.nat(), commandDraw(domain, shape)), {
    ...isolated,
    seed,
    numRuns: size * 10
  })
  for (const [pick, draw] of steps) {
    if (reached.length >= size) break
    // Half the steps go on from the newest state, so that chains get long; the others branch from anywhere.
    const from = reached[pick % 2 === 0 ? reached.length - 1 : (pick >> 1) % reached.length]!
    const decision = domain.decide!(draw(domain.pool), from.state)
    if (Exit.isFailure(decision) || decision.value.length === 0) continue
    reached.push({
      events: [...from.events, ...decision.value],
      state: decision.value.reduce(domain.evolve, from.state)
    })
  }
  return reached
}

/**
 * Draws the run's states once, so that a case costs a decision or two rather than a whole history's: the caller's
 * states, or mostly reachable ones (a walk of the decider) and some folded from arbitrary events. Sorted by the
 * length of their histories, so that shrinking a case goes to the shortest one.
 */
export const drawBank = <A, State>(domain: Domain<A, State, any>, seed: number): ReadonlyArray<History<A, State>> => {
  const sample = (size: number) =>
    FastCheck.sample(histories({ ...domain, bank: undefined }), { ...isolated, seed, numRuns: size }).map((draw) =>
      draw(domain.pool)
    )
  const reachable = domain.states === undefined && domain.decide !== undefined && domain.commands !== undefined
  const bank = reachable
    ? [...walk(domain, domain.commands!, seed, bankSize * 3 / 4), ...sample(bankSize / 4)]
    : sample(bankSize)
  return bank.sort((a, b) => a.events.length - b.events.length)
}
