// Two `concord serve` processes over a PostgreSQL cluster of this file's own (others' suites would hang on one frozen
// under them), under load while the cluster is frozen (SIGSTOP) or stopped outright: every request is answered within
// its deadline, the services recover by themselves, and the store holds exactly what their answers said.
import { Postgres } from "@concord/test-postgres"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Outage from "./support/outage.js"
import { type Running, startServer } from "./support/server.js"

const requestTimeoutMs = 2_500
/** How late an answer may come past its deadline on a loaded CI machine: a deadline check, not a speed claim. */
const marginMs = 2_000
const appendBoundMs = requestTimeoutMs + marginMs
/** `/health` answers 503 within a second when the store does not answer. */
const healthBoundMs = 1_000 + 1_500
/** From the cluster's return to both services' first successful append and healthy `/health`. */
const recoveryBoundMs = 10_000
/** When the client gives up on an answer and records none. */
const giveUpMs = appendBoundMs + 10_000

/** Small deadlines, the store's inside the request's, so that an append's answer is the store's own. */
const flags = [
  "--lock-timeout-ms",
  "1000",
  "--append-timeout-ms",
  "1500",
  "--statement-timeout-ms",
  "1500",
  "--connect-timeout-ms",
  "1000",
  "--request-timeout-ms",
  String(requestTimeoutMs)
]

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

let cluster: Postgres.Cluster | undefined
let servers: ReadonlyArray<Running> = []

/** What the clients saw around an outage, and when it began and ended, in milliseconds since they began. */
interface Run {
  readonly clock: () => number
  readonly urls: ReadonlyArray<string>
  readonly streams: ReadonlyArray<string>
  readonly sent: ReadonlyArray<Outage.Sent>
  readonly health: ReadonlyArray<Outage.Timed>
  readonly downFrom: number
  readonly upFrom: number
  readonly timeline: ReadonlyArray<string>
}

/**
 * Load from eight clients on both services until each has acknowledged a few appends, then `down` for `downMs`, then
 * `up`, until both services append and answer `/health` again (or the recovery bound and more have passed).
 */
const underOutage = async (name: string, down: () => void, up: () => void, downMs: number): Promise<Run> => {
  const clock = Outage.stopwatch()
  const urls = servers.map((server) => server.url)
  const streams = [0, 1, 2, 3].map((i) => `${name}-${i}`)
  let running = true
  const traffic = Outage.load({ clock, servers: urls, streams, clients: 8, giveUpMs, running: () => running })
  const timeline: Array<string> = []
  const mark = (what: string) => timeline.push(`${what} at ${clock()} ms`)
  let downFrom = Infinity
  let upFrom = Infinity
  try {
    // Going down once each service has acknowledged a few appends, however loaded the machine.
    const acknowledged = (url: string) => traffic.sent.filter((r) => r.server === url && r.status === 200).length
    while (!urls.every((url) => acknowledged(url) >= 5) && clock() < 15_000) await pause(50)
    await pause(300)
    mark("down")
    try {
      down()
      downFrom = clock()
      mark("down done")
      await pause(downMs)
    } finally {
      mark("up")
      up()
      upFrom = clock()
      mark("up done")
    }
    const recovered = (url: string) =>
      traffic.sent.some((r) => r.server === url && r.startedAt >= upFrom && r.status === 200) &&
      traffic.health.some((r) => r.server === url && r.startedAt >= upFrom && r.status === 200)
    while (!urls.every(recovered) && clock() - upFrom < recoveryBoundMs + 2_000) await pause(50)
    mark("recovered")
  } finally {
    running = false
    await traffic.done
    mark("load done")
  }
  return { clock, urls, streams, sent: traffic.sent, health: traffic.health, downFrom, upFrom, timeline }
}

/** Answers late or missing, answers the outage cannot have given, an outage the clients did not see, no recovery. */
const answerProblems = (run: Run) => {
  const { health, sent, upFrom, urls } = run
  const during = (r: Outage.Timed) => r.startedAt >= run.downFrom && r.startedAt + r.durationMs <= upFrom
  const recoveredIn = urls.map((url) =>
    Math.max(...[sent, health].map((requests) =>
      Math.min(
        ...requests.filter((r) => r.server === url && r.startedAt >= upFrom && r.status === 200)
          .map((r) => r.startedAt + r.durationMs - upFrom)
      )
    ))
  )
  const counted = {
    "appends acknowledged before the outage": sent.filter((r) =>
      r.startedAt + r.durationMs < run.downFrom && r.status === 200
    ),
    "appends refused during the outage": sent.filter((r) => during(r) && r.status === 503),
    "health checks refused during the outage": health.filter((r) => during(r) && r.status === 503)
  }
  const problems = {
    appendsOverdue: Outage.overdue(sent, appendBoundMs),
    healthOverdue: Outage.overdue(health, healthBoundMs),
    healthyWhileDown: health.filter((r) => during(r) && r.status !== 503).map(Outage.describe),
    acknowledgedWhileDown: sent.filter((r) => during(r) && r.status === 200).map(Outage.describe),
    notRecovered: recoveredIn.flatMap((ms, i) =>
      ms <= recoveryBoundMs ? [] : [`${urls[i]}: ${ms} ms after the cluster came back`]
    ),
    // The outage was one: answered before, refused during, long enough to catch /health several times.
    outageNotSeen: Object.entries(counted).flatMap(([what, requests]) =>
      requests.length >= 5 ? [] : [`only ${requests.length} ${what}`]
    )
  }
  return { problems, recoveredIn }
}

/**
 * The store once every answer is in, twice a second apart (nothing may commit after its answer), against the
 * answers; then the batches sent again with the same ids, and the store once more: each batch stored exactly once,
 * where its last answer says, and nothing stored before moved.
 */
const storeProblems = async (run: Run) => {
  const { clock, streams, urls } = run
  const batches = new Map(run.sent.map((r) => [r.batch.key, r.batch]))
  const before = await Outage.snapshot(urls, streams)
  await pause(1_000)
  const settled = await Outage.snapshot(urls, streams)
  const ids = (snap: Outage.Snapshot) => [...snap.streams.values()].flatMap((events) => events.map((e) => e.id))
  const answeredFor = new Set(ids(before))
  const first = Outage.audit(settled, batches)
  // Every batch not acknowledged, and every tenth that was: a sample of the replays of stored batches is enough.
  const acknowledged = new Map(
    run.sent.flatMap((r) => r.outcome._tag === "Acknowledged" ? [[r.batch.key, r.outcome]] : [])
  )
  const resent = [...batches.values()].filter((batch, i) => !acknowledged.has(batch.key) || i % 10 === 0)
  const again = await Outage.resendAll({ clock, servers: urls, batches: resent, before: settled, ...first, giveUpMs })
  const after = await Outage.snapshot(urls, streams)
  const second = Outage.audit(after, batches)
  return {
    committedAfterTheLastAnswer: ids(settled).filter((id) => !answeredFor.has(id)),
    firstAudit: first.violations,
    contradicted: Outage.contradictions(run.sent, first.where),
    sentAgain: again.violations,
    secondAudit: second.violations,
    notOnceAfterAll: [...batches.keys()].flatMap((key) => {
      const at = second.where.get(key)
      const answered = again.answered.get(key) ?? acknowledged.get(key)
      return at !== undefined && at.firstVersion === answered?.firstVersion && at.lastVersion === answered.lastVersion
        ? []
        : [`${key}: stored at ${JSON.stringify(at)}, last answered ${JSON.stringify(answered)}`]
    }),
    rewritten: streams.flatMap((id) => {
      const was = settled.streams.get(id)!.map((e) => e.id)
      const is = after.streams.get(id)!.slice(0, was.length).map((e) => e.id)
      return was.join() === is.join() ? [] : [`stream ${id}: the events stored before were changed`]
    })
  }
}

/** Runs the load through an outage and fails with every kind of problem found, each with its first few cases. */
const outage = async (name: string, down: () => void, up: () => void, downMs: number) => {
  const run = await underOutage(name, down, up, downMs)
  const answers = answerProblems(run)
  const store = await storeProblems(run).catch((error) => ({ audit: [`the audit could not read: ${error}`] }))
  const problems: Record<string, ReadonlyArray<string>> = { ...answers.problems, ...store }
  console.info(
    `${name}: appends ${Outage.counts(run.sent)}; health ${Outage.counts(run.health)}; recovered in ` +
      `${answers.recoveredIn.join(" and ")} ms; ${run.timeline.join(", ")}`
  )
  const few = (list: ReadonlyArray<string>) =>
    list.length <= 12 ? list : [...list.slice(0, 12), `… and ${list.length - 12} more`]
  expect(
    Object.fromEntries(Object.entries(problems).map(([key, list]) => [key, few(list)])),
    `${run.timeline.join(", ")}\nappends: ${Outage.summary(run.sent)}\nhealth: ${Outage.summary(run.health)}`
  ).toEqual(Object.fromEntries(Object.keys(problems).map((key) => [key, []])))
}

describe.skipIf(Postgres.binaries() === undefined)("the service while its PostgreSQL is out", () => {
  beforeAll(async () => {
    cluster = await Postgres.start({ settings: ["-c fsync=off"] })
    servers = await Promise.all([0, 1].map(() => startServer(["--postgres", cluster!.url, ...flags])))
  })

  afterAll(async () => {
    await Promise.all(
      servers.map((server) => Promise.race([server.stop(), pause(10_000).then(() => server.stop("SIGKILL"))]))
    )
    cluster?.stop()
  })

  it(
    "frozen mid-load for 6 s: every request answered in time, then recovery, and the store as answered",
    () => outage("frozen", () => cluster!.freeze(), () => cluster!.thaw(), 6_000),
    60_000
  )

  it(
    "stopped mid-load for 3 s: every request answered in time, then recovery, and the store as answered",
    () => outage("stopped", () => cluster!.stopImmediate(), () => cluster!.restart(), 3_000),
    60_000
  )
})
