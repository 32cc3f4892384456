// The cost of observability on the append path: `concord serve` on its defaults, the same while `/metrics` is scraped
// every second, and the same exporting traces and metrics over OTLP/HTTP to a sink that accepts everything
// (otlp-sink.ts), each in a process of its own on a fresh SQLite file, started side by side. Single-event appends to
// new streams from autocannon in the bench's process, as in the appends over HTTP (ServiceAppends.ts); the figures
// that matter are the per-round ratios of each observed service's rate to the plain one's.
import { type Figure, type Section, summarize } from "./Measure.js"
import * as Service from "./Service.js"
import * as ServiceAppends from "./ServiceAppends.js"
import * as Stores from "./Stores.js"
import { note } from "./Uncontended.js"

export type Synchronous = "full" | "normal"

export interface ObservabilitySize {
  /** The SQLite settings, one set of services each: FULL syncs every commit, NORMAL leaves the CPU as the bound. */
  readonly synchronous: ReadonlyArray<Synchronous>
  /** The writers' connection counts, one cell each. */
  readonly connections: ReadonlyArray<number>
  /** How many appends a trial sends, shared by its connections: it ends when all are answered. */
  readonly appends: number
  readonly trials: number
}

export const plain = "defaults"
export const scraped = "/metrics scraped every second"
export const otlp = "OTLP export to a sink"
export const otlpSampled = "OTLP export to a sink, 1 request in 10 traced"
export const otlpSampledRarely = "OTLP export to a sink, 1 request in 100 traced"

export type Configuration =
  | typeof plain
  | typeof scraped
  | typeof otlp
  | typeof otlpSampled
  | typeof otlpSampledRarely

/** The head sampling ratios of the sampled exports (`--otlp-trace-ratio`). */
const ratios: Partial<Record<Configuration, number>> = { [otlp]: 1, [otlpSampled]: 0.1, [otlpSampledRarely]: 0.01 }

/** How often the scraper GETs `/metrics`: Prometheus scrapes every 15 to 60 s, so this is a harsh case. */
export const scrapeIntervalMillis = 1_000
/**
 * How often the service sends what it gathered (`OtlpExport.defaultExportInterval`, which `concord serve` does not
 * change): the longest the sink may wait for the last trial's spans. Under load, spans also leave by the thousand.
 */
const exportIntervalMillis = 5_000

const setting = (synchronous: Synchronous) => `SQLite ${synchronous.toUpperCase()}`

/**
 * The name of a row; `figure` is appends answered per second, the trial's p99 latency, or the service process's CPU
 * time per append.
 */
export const rowName = (
  synchronous: Synchronous,
  connections: number,
  configuration: Configuration,
  figure: "appends/s" | "p99 latency" | "CPU per append"
) => `Observability, ${setting(synchronous)}, ${connections} connections: ${configuration}, ${figure}`

/** The name of the row of an observed service's rate over the plain one's, round by round. */
export const ratioName = (synchronous: Synchronous, connections: number, configuration: Configuration) =>
  `Observability, ${setting(synchronous)}, ${connections} connections: ${configuration} / ${plain}`

/** What every request sends: one event for a new stream, as an application's first append to it. */
const body = JSON.stringify({ expectedVersion: 0, events: [note(1)] })

/**
 * One trial of the appends over HTTP (`ServiceAppends.trial`), with the CPU time the service's process spent
 * meanwhile: up to the last answer, not the idle second till autocannon's tick ends the run.
 */
const trial = async ({ pid, url }: Service.Service, connections: number, appends: number) => {
  const cpuBefore = Service.cpuNanosOf(pid)
  let cpuAfter = 0
  const measured = await ServiceAppends.trial(url, connections, appends, () => (cpuAfter = Service.cpuNanosOf(pid)))
  return {
    appendsPerSecond: measured.appendsPerSecond,
    p99: measured.p99,
    cpuMicros: ((cpuAfter || Service.cpuNanosOf(pid)) - cpuBefore) / 1000 / measured.answered
  }
}

/** Every service appends for real before the trials: a new stream's append answered 200 with its versions. */
const checkAppends = async (name: string, url: string) => {
  const response = await fetch(`${url}/streams/check/events`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body
  })
  const text = await response.text()
  if (response.status !== 200 || (JSON.parse(text) as { lastVersion?: unknown }).lastVersion !== 1) {
    throw new Error(`${name} answered a new stream's append ${response.status} ${text}`)
  }
}

/**
 * GETs `/metrics` every {@link scrapeIntervalMillis} from the bench's process until stopped. A scrape counts when it
 * is answered 200 with the appends counter in its body; anything else fails the section at the next check, so that
 * the figure cannot be of a service that answered the scraper with an error page.
 */
const scrape = (url: string) => {
  let scrapes = 0
  let failure: Error | undefined
  let inFlight: Promise<void> = Promise.resolve()
  const once = async () => {
    try {
      const response = await fetch(`${url}/metrics`)
      const text = await response.text()
      if (response.status === 200 && text.includes("concord_appends_total")) scrapes++
      else failure ??= new Error(`GET ${url}/metrics: ${response.status} ${text.slice(0, 300)}`)
    } catch (error) {
      failure ??= new Error(`GET ${url}/metrics: ${String(error)}`)
    }
  }
  // One scrape at once: a section shorter than the interval still checks what `/metrics` answers.
  inFlight = once()
  const timer = setInterval(() => (inFlight = once()), scrapeIntervalMillis)
  const check = () => {
    if (failure !== undefined) throw failure
  }
  return {
    check,
    /** Stops scraping; resolves with the scrapes answered, once the last one is in. */
    stop: async () => {
      clearInterval(timer)
      await inFlight
      check()
      return scrapes
    },
    /** Stops scraping, for a section that failed elsewhere. */
    cancel: () => clearInterval(timer)
  }
}

type SinkCounts = Record<string, { readonly posts: number; readonly bytes: number } | undefined>

const sinkCounts = async (sink: Service.Service): Promise<SinkCounts> =>
  (await (await fetch(`${sink.url}/counts`)).json()) as SinkCounts

/**
 * Waits until the sink has more trace exports than `before`, for up to an export interval and some: spans batched
 * during the last trial may leave on the next tick of the exporter. None fails the section: a figure of a service that
 * exported nothing would say nothing of the cost of exporting.
 */
const awaitTraces = async (sink: Service.Service, before: number) => {
  const deadline = performance.now() + exportIntervalMillis + 10_000
  for (;;) {
    const counts = await sinkCounts(sink)
    if ((counts["/v1/traces"]?.posts ?? 0) > before) return counts
    if (performance.now() > deadline) {
      throw new Error(`the OTLP sink received no trace export during the trials: ${JSON.stringify(counts)}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}

/**
 * The bench's own environment without the service's variables and OpenTelemetry's: it may name a collector, turn
 * `/metrics` off or change the log level, and each configuration must run on its defaults but for its own flags.
 */
const defaults = () =>
  Object.fromEntries(
    Object.keys(process.env).filter((name) => /^(CONCORD|OTEL)_/.test(name)).map((name) => [name, undefined])
  )

/** The configurations, the plain one in the middle so that it runs close to each observed one in every round. */
export const configurations: ReadonlyArray<Configuration> = [scraped, otlpSampledRarely, plain, otlpSampled, otlp]

const startService = (configuration: Configuration, synchronous: Synchronous, sink: Service.Service | undefined) =>
  Service.start({ sqlite: Stores.freshFile() }, {
    args: [
      "--sqlite-synchronous",
      synchronous,
      ...(ratios[configuration] === undefined
        ? []
        : ["--otlp-endpoint", sink!.url, "--otlp-trace-ratio", String(ratios[configuration])])
    ],
    env: defaults()
  })

/** Every round of one connection count, the services taking turns; each service's figures in round order. */
const rounds = async (
  services: ReadonlyArray<Service.Service>,
  connections: number,
  size: ObservabilitySize,
  after: () => void
) => {
  const samples = services.map(() => ({
    rate: [] as Array<number>,
    p99: [] as Array<number>,
    cpu: [] as Array<number>
  }))
  for (let round = 0; round < size.trials; round++) {
    const order = services.map((_, s) => round % 2 === 0 ? s : services.length - 1 - s)
    for (const s of order) {
      const measured = await trial(services[s]!, connections, size.appends)
      samples[s]!.rate.push(measured.appendsPerSecond)
      samples[s]!.p99.push(measured.p99)
      samples[s]!.cpu.push(measured.cpuMicros)
    }
    after()
  }
  return samples
}

/** One setting's services side by side, every trial of every connection count, and the rows; what was observed. */
const compare = async (
  synchronous: Synchronous,
  size: ObservabilitySize,
  chosen: ReadonlyArray<Configuration>,
  rows: Array<Figure>
): Promise<string> => {
  const started: Array<Service.Service> = []
  let scraper: ReturnType<typeof scrape> | undefined
  const track = async (service: Promise<Service.Service>) => {
    const s = await service
    started.push(s)
    return s
  }
  try {
    const sink = chosen.some((c) => ratios[c] !== undefined)
      ? await track(Service.startListening("the OTLP sink", [new URL("otlp-sink.ts", import.meta.url).pathname]))
      : undefined
    const services = await Promise.all(chosen.map((c) => track(startService(c, synchronous, sink))))
    for (const [s, service] of services.entries()) await checkAppends(chosen[s]!, service.url)
    scraper = chosen.includes(scraped) ? scrape(services[chosen.indexOf(scraped)]!.url) : undefined
    const tracesBefore = sink === undefined ? 0 : (await sinkCounts(sink))["/v1/traces"]?.posts ?? 0
    for (const connections of size.connections) {
      // One uncounted trial each: the first requests run code not yet compiled by the optimising compiler.
      for (const service of services) await trial(service, connections, size.appends)
      const samples = await rounds(services, connections, size, () => scraper?.check())
      chosen.forEach((c, s) => {
        rows.push(summarize(rowName(synchronous, connections, c, "appends/s"), samples[s]!.rate, "appends/s"))
        rows.push(summarize(rowName(synchronous, connections, c, "p99 latency"), samples[s]!.p99, "ms"))
        rows.push(summarize(rowName(synchronous, connections, c, "CPU per append"), samples[s]!.cpu, "µs"))
      })
      const plainRates = samples[chosen.indexOf(plain)]?.rate
      chosen.forEach((c, s) => {
        if (c === plain || plainRates === undefined) return
        const ratios = samples[s]!.rate.map((rate, round) => rate / plainRates[round]!)
        rows.push(summarize(ratioName(synchronous, connections, c), ratios, "x"))
      })
    }
    const observed = [`at ${synchronous.toUpperCase()}`]
    if (scraper !== undefined) observed.push(`${await scraper.stop()} scrapes answered`)
    if (sink !== undefined) observed.push(exports(await awaitTraces(sink, tracesBefore)))
    return observed.join(", ")
  } finally {
    scraper?.cancel()
    for (const service of started) await service.stop()
  }
}

const exports = (sink: SinkCounts) =>
  Object.entries(sink).map(([path, count]) =>
    `${count!.posts.toLocaleString("en-US")} POST${count!.posts === 1 ? "" : "s"} to \`${path}\` (${
      (count!.bytes / 1024).toFixed(0)
    } KiB)`
  ).join(", ")

/**
 * Every setting's services, measured. `chosen` leaves configurations out for a look at part of the section (the
 * report's section has all five).
 */
export const run = async (
  size: ObservabilitySize,
  chosen: ReadonlyArray<Configuration> = configurations
): Promise<Section> => {
  const rows: Array<Figure> = []
  const observed: Array<string> = []
  for (const synchronous of size.synchronous) observed.push(await compare(synchronous, size, chosen, rows))
  return {
    id: "observability",
    title: "The cost of observability on the append path",
    unit: "appends/s",
    rows,
    notes:
      `\`concord serve\` in ${chosen.length} configurations, each in a process of its own on a fresh SQLite file, started ` +
      `side by side for each setting of \`--sqlite-synchronous\` (${size.synchronous.join(" and ")}: FULL syncs ` +
      `every commit as the default does, NORMAL leaves the CPU as the bound): on its ${plain}; the same while the ` +
      `bench's process GETs \`/metrics\` every ${scrapeIntervalMillis / 1000} s for as long as the service runs ` +
      `(Prometheus scrapes every 15 to 60 s), each scrape checked to be a 200 whose body has ` +
      `\`concord_appends_total\`; and with \`--otlp-endpoint\` naming a sink in a process of its own (\`node:http\`: ` +
      `each POST's body read to its end and answered 200, as a collector that keeps up) on the service's own ` +
      `export interval of ${exportIntervalMillis / 1000} s (spans and log lines also leave as soon as a thousand ` +
      `wait), the section failing if the sink received no trace export during the trials; and the same with ` +
      `\`--otlp-trace-ratio 0.1\` and \`0.01\` (head sampling: one request in ten, or in a hundred, traced; ` +
      `metrics and log lines all sent). Observed: ` +
      `${observed.join("; ")}. autocannon, in the bench's process, keeps ` +
      `${size.connections.join(" or ")} keep-alive connections sending single-event appends with ` +
      `\`expectedVersion: 0\`, each to a stream of its own, ${size.appends.toLocaleString("en-US")} per trial; a ` +
      `figure is the trial's appends answered per second (from the first request to the last answer), its p99 ` +
      `latency, or the CPU time the service's process spent during the trial per append (all its threads, from ` +
      `\`/proc\`; the scraper's requests included: it tells the cost apart from the machine's other load). ${size.trials} rounds per connection count after one uncounted trial per service, the services ` +
      `taking turns, the plain one in the middle; the ratio rows are an observed service's rate over the plain ` +
      `one's, round by round (the targets: at least 0.95).`
  }
}
