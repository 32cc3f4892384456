// What idle subscriptions cost the service: the resident set of a `concord serve` process on SQLite, idle, then
// with many open Server-Sent Events subscriptions (`GET /events/subscribe`) that nothing is written to. The clients
// are in the bench's process; each subscription holds a connection of its own at both ends.
import * as http from "node:http"
import { type Section, summarize } from "./Measure.js"
import * as Service from "./Service.js"
import * as Stores from "./Stores.js"

export interface SubscribersSize {
  readonly subscribers: number
  readonly trials: number
}

/** The name of a row. */
export const rowName = (subscribers: number, figure: "idle" | "subscribed" | "increase" | "fanout") => {
  const count = subscribers.toLocaleString("en-US")
  switch (figure) {
    case "idle":
      return "service on SQLite, idle: RSS"
    case "subscribed":
      return `service on SQLite, ${count} idle SSE subscribers: RSS`
    case "increase":
      return `service on SQLite, ${count} idle SSE subscribers: RSS over idle`
    case "fanout":
      return `service on SQLite, ${count} SSE subscribers: one append delivered to all`
  }
}

/** Subscriptions opened at once: more would overflow the service's accept queue (Node's backlog is 511). */
const openingConcurrency = 100

/** How long RSS is sampled at each step, every `sampleEveryMillis`; the step's figure is the largest sample. */
const settleMillis = 1_500
const sampleEveryMillis = 100

/** How long one append has to reach every subscriber before the trial fails. */
const fanoutTimeoutMillis = 30_000

const sleep = (millis: number) => new Promise<void>((resolve) => setTimeout(resolve, millis))

const mib = (bytes: number) => bytes / (1024 * 1024)

/** The largest RSS of the process over `settleMillis`: a resident set is what the process holds at its height. */
const settledRss = async (pid: number) => {
  let largest = 0
  for (let waited = 0; waited < settleMillis; waited += sampleEveryMillis) {
    largest = Math.max(largest, Service.rssOf(pid))
    await sleep(sampleEveryMillis)
  }
  return largest
}

const until = async (done: () => boolean, what: string, failure: () => Error | undefined) => {
  const deadline = performance.now() + fanoutTimeoutMillis
  while (!done()) {
    const failed = failure()
    if (failed !== undefined) throw failed
    if (performance.now() > deadline) throw new Error(`${what} within ${fanoutTimeoutMillis} ms`)
    await sleep(1)
  }
}

const note = { type: "MeetingNoteAdded", data: { noteId: "n", author: "bench", text: "x".repeat(40) } }

/**
 * One trial on a fresh service: its RSS once warmed up (a few appends and one subscription opened, fed and
 * closed, so that code loaded on first use counts as idle), then with `subscribers` open subscriptions, then how long
 * one append takes to reach them all (which also shows they are live).
 */
const trial = async (size: SubscribersSize) => {
  const service = await Service.start({ sqlite: Stores.freshFile() })
  const agent = new http.Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY })
  const subscriptions: Array<Service.Subscription> = []
  let failure: Error | undefined
  try {
    let warmed = 0
    const warm = Service.subscribe(agent, service.url, () => warmed++, (error) => (failure = error))
    await warm.opened
    // The service reads where "end" is just after its opening comment: appends go on until five have arrived.
    for (let appended = 0; warmed < 5; appended++) {
      if (failure !== undefined) throw failure
      if (appended === 50) throw new Error("the warm-up subscription got fewer than 5 of 50 events")
      await Service.append(agent, service.url, "warm-up", "any", note)
      await sleep(20)
    }
    warm.close()
    const idle = await settledRss(service.pid)
    // Which subscriptions had an event of the live check, and how many had the measured append.
    const live = new Set<number>()
    let reached = 0
    for (let opened = 0; opened < size.subscribers; opened += openingConcurrency) {
      const batch = Array.from(
        { length: Math.min(openingConcurrency, size.subscribers - opened) },
        (_, i) =>
          Service.subscribe(agent, service.url, (event) => {
            if (event.streamId === "fan-out") reached++
            else live.add(opened + i)
          }, (error) => (failure ??= error))
      )
      subscriptions.push(...batch)
      await Promise.all(batch.map((s) => s.opened))
    }
    const subscribed = await settledRss(service.pid)
    if (failure !== undefined) throw failure
    // Subscribed at "end": the service reads where the end is as a subscription starts, maybe after the opening
    // comment. Appends until every subscription has had one, then the measured append.
    for (let version = 1; live.size < size.subscribers; version++) {
      if (version > 50) throw new Error(`${live.size} of ${size.subscribers} subscriptions live after 50 appends`)
      await Service.append(agent, service.url, "live-check", version - 1, note)
      await sleep(200)
    }
    const started = performance.now()
    await Service.append(agent, service.url, "fan-out", 0, note)
    await until(() => reached >= size.subscribers, "not every subscription had the append", () => failure)
    const fanout = performance.now() - started
    return { idle: mib(idle), subscribed: mib(subscribed), fanout }
  } finally {
    for (const subscription of subscriptions) subscription.close()
    agent.destroy()
    await service.stop()
  }
}

export const run = async (size: SubscribersSize): Promise<Section> => {
  const idle: Array<number> = []
  const subscribed: Array<number> = []
  const fanout: Array<number> = []
  for (let round = 0; round < size.trials; round++) {
    try {
      const figures = await trial(size)
      idle.push(figures.idle)
      subscribed.push(figures.subscribed)
      fanout.push(figures.fanout)
    } catch (error) {
      throw new Error(`idle subscribers: ${error instanceof Error ? error.message : String(error)}`, { cause: error })
    }
  }
  return {
    id: "subscribers",
    title: "Idle SSE subscribers: the service's memory",
    unit: "MiB",
    rows: [
      summarize(rowName(size.subscribers, "idle"), idle, "MiB"),
      summarize(rowName(size.subscribers, "subscribed"), subscribed, "MiB"),
      summarize(rowName(size.subscribers, "increase"), subscribed.map((s, i) => s - idle[i]!), "MiB"),
      summarize(rowName(size.subscribers, "fanout"), fanout, "ms")
    ],
    notes: `Each trial starts a fresh \`concord serve\` process on a fresh SQLite file (from the sources through ` +
      `tsx) and reads its VmRSS from /proc every ${sampleEveryMillis} ms for ${settleMillis / 1000} s at each ` +
      `step, keeping the largest: idle once warmed up (five appends and one subscription opened, fed and closed), ` +
      `then with ${size.subscribers.toLocaleString("en-US")} subscriptions ` +
      `(\`GET /events/subscribe?after=end\`, each on a connection of its own, opened ${openingConcurrency} at a ` +
      `time from the bench's process) that have had their opening comment and nothing else. Then appends reach ` +
      `every subscription, and the last row is the time from sending one more append to its message's arrival at ` +
      `all of them (the subscriptions waiting at the end of the log share one read of it). ${size.trials} trials.`
  }
}
