// The exposition of Effect's metrics in Prometheus's text format: what a scraper reads back is what the registry held.
import { describe, expect, it } from "@effect/vitest"
import {
  Effect,
  FastCheck as fc,
  Metric,
  MetricBoundaries,
  MetricKey,
  MetricLabel,
  MetricPair,
  MetricState,
  Option
} from "effect"
import * as prometheus from "../src/internal/prometheus.js"
import { parse } from "./support/prometheus.js"

const pair = (key: MetricKey.MetricKey<any>, state: MetricState.MetricState.Untyped) =>
  MetricPair.unsafeMake(key, state) as MetricPair.MetricPair.Untyped

const labels = (tags: Record<string, string>) => Object.entries(tags).map(([k, v]) => MetricLabel.make(k, v))

describe("the Prometheus exposition", () => {
  it("writes each kind as the format says, one HELP and TYPE a name across its tag sets", () => {
    const requests = MetricKey.counter("reqs_total", {
      incremental: true,
      description: "requests\nby \"route\" \\ path"
    })
    const text = prometheus.format([
      pair(MetricKey.taggedWithLabels(requests, labels({ route: "/b" })), MetricState.counter(2)),
      pair(MetricKey.taggedWithLabels(requests, labels({ route: "/a" })), MetricState.counter(1)),
      pair(MetricKey.gauge("open"), MetricState.gauge(-3.5)),
      pair(
        MetricKey.frequency("words", { description: "words seen" }),
        MetricState.frequency(new Map([["b", 2], ["a", 1]]))
      ),
      pair(
        MetricKey.histogram("latency", MetricBoundaries.fromIterable([0.1, 1])),
        MetricState.histogram({ buckets: [[0.1, 1], [1, 3], [Infinity, 4]], count: 5, min: 0, max: 9, sum: 12.5 })
      ),
      pair(
        MetricKey.summary({ name: "sizes", maxAge: "1 minute", maxSize: 10, error: 0.01, quantiles: [0.5, 0.99] }),
        MetricState.summary({
          error: 0.01,
          quantiles: [[0.5, Option.some(4)], [0.99, Option.none()]],
          count: 3,
          min: 1,
          max: 9,
          sum: 14
        })
      )
    ])
    expect(text).toBe([
      "# TYPE latency histogram",
      "latency_bucket{le=\"0.1\"} 1",
      "latency_bucket{le=\"1\"} 3",
      // The count, which the format requires +Inf to equal (a NaN observed is in no bucket).
      "latency_bucket{le=\"+Inf\"} 5",
      "latency_sum 12.5",
      "latency_count 5",
      "# TYPE open gauge",
      "open -3.5",
      "# HELP reqs_total requests\\nby \"route\" \\\\ path",
      "# TYPE reqs_total counter",
      "reqs_total{route=\"/a\"} 1",
      "reqs_total{route=\"/b\"} 2",
      "# TYPE sizes summary",
      "sizes{quantile=\"0.5\"} 4",
      "sizes{quantile=\"0.99\"} NaN",
      "sizes_sum 14",
      "sizes_count 3",
      "# HELP words words seen",
      "# TYPE words counter",
      "words{key=\"a\"} 1",
      "words{key=\"b\"} 2",
      ""
    ].join("\n"))
  })

  it("rewrites names and label names into the format's characters, and escapes label values", () => {
    const key = MetricKey.taggedWithLabels(
      MetricKey.counter("http.requests-total", { incremental: true }),
      labels({ "route.name": "a\\b\"c\nd", "9th": "x", "__reserved": "y", "b": "z" })
    )
    const text = prometheus.format([
      pair(key, MetricState.counter(1)),
      pair(MetricKey.gauge("9lives"), MetricState.gauge(Infinity)),
      pair(MetricKey.gauge(""), MetricState.gauge(Number.NaN))
    ])
    expect(text).toContain(
      "http_requests_total{_9th=\"x\",_reserved=\"y\",b=\"z\",route_name=\"a\\\\b\\\"c\\nd\"} 1"
    )
    expect(text).toContain("_9lives +Inf")
    expect(text).toContain("# TYPE _ gauge\n_ NaN")
    const read = parse(text)
    expect(read.value("http_requests_total", { _9th: "x", _reserved: "y", b: "z", route_name: "a\\b\"c\nd" }))
      .toBe(1)
  })

  it("writes a counter that is not declared incremental, which may go down, as a gauge", () => {
    const text = prometheus.format([pair(MetricKey.counter("fibers_active"), MetricState.counter(-2))])
    expect(text).toBe("# TYPE fibers_active gauge\nfibers_active -2\n")
  })

  it("writes a name once when two metrics read as one: the first kind keeps it, a series is written once", () => {
    const text = prometheus.format([
      pair(MetricKey.gauge("a_b"), MetricState.gauge(2)),
      pair(MetricKey.counter("a.b", { incremental: true }), MetricState.counter(1)),
      pair(MetricKey.counter("a-b", { incremental: true }), MetricState.counter(3))
    ])
    expect(text).toBe("# TYPE a_b counter\na_b 1\n")
  })

  it("reads Effect's histogram buckets as cumulative already, and writes them so", () =>
    Effect.runSync(Effect.gen(function*() {
      const histogram = Metric.histogram(
        "prometheus_test_cumulative",
        MetricBoundaries.fromIterable([1, 10, 100])
      )
      for (const value of [0.5, 1, 5, 50, 500, Number.NaN]) yield* Metric.update(histogram, value)
      const read = parse(prometheus.format(yield* Metric.snapshot))
      const bucket = (le: string) => read.value("prometheus_test_cumulative_bucket", { le })
      expect([bucket("1"), bucket("10"), bucket("100"), bucket("+Inf")]).toEqual([2, 3, 4, 6])
      expect(read.value("prometheus_test_cumulative_count")).toBe(6)
    })))

  it("is the same whatever the order of the snapshot", () => {
    const pairs = [
      pair(
        MetricKey.taggedWithLabels(MetricKey.counter("x", { incremental: true }), labels({ a: "2" })),
        MetricState.counter(1)
      ),
      pair(
        MetricKey.taggedWithLabels(MetricKey.counter("x", { incremental: true }), labels({ a: "1" })),
        MetricState.counter(2)
      ),
      pair(MetricKey.gauge("w"), MetricState.gauge(0))
    ]
    expect(prometheus.format([...pairs].reverse())).toBe(prometheus.format(pairs))
  })

  it("reads back, for any registry, every value of every series, with its HELP and TYPE", () => {
    const value = fc.oneof(
      fc.double(),
      fc.integer({ min: -1_000_000, max: 1_000_000 }),
      fc.constantFrom(Number.NaN, Infinity, -Infinity, 0)
    )
    const text = fc.string({ unit: fc.constantFrom("a", "\\", "\"", "\n", "n", " ", "é", "{", "}", "=", ",") })
    const tags = fc.uniqueArray(fc.tuple(fc.stringMatching(/^[a-z][a-z0-9_]{0,5}$/), text), {
      selector: ([key]) => key,
      maxLength: 3
    }).map((entries) => entries.filter(([key]) => !["le", "quantile", "key"].includes(key)))
    const state = fc.oneof(
      fc.record({ kind: fc.constant("counter" as const), value }),
      fc.record({ kind: fc.constant("bigint" as const), value: fc.bigInt({ min: 0n, max: 2n ** 80n }) }),
      fc.record({ kind: fc.constant("gauge" as const), value }),
      fc.record({
        kind: fc.constant("frequency" as const),
        words: fc.dictionary(text, fc.nat(), { maxKeys: 4 })
      }),
      fc.record({
        kind: fc.constant("histogram" as const),
        bounds: fc.uniqueArray(fc.double({ noNaN: true, noDefaultInfinity: true }), { maxLength: 5 }),
        observations: fc.array(fc.double({ noNaN: true }), { maxLength: 20 })
      }),
      fc.record({
        kind: fc.constant("summary" as const),
        quantiles: fc.uniqueArray(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 3 }),
        values: fc.array(fc.option(value, { nil: undefined }), { minLength: 3, maxLength: 3 }),
        count: fc.nat(),
        sum: value
      })
    )
    // Each metric a name of its own, each series its own tags, a description or none.
    const metric = fc.record({ description: fc.option(text, { nil: undefined }), state, series: fc.nat({ max: 2 }) })
    fc.assert(fc.property(fc.array(fc.tuple(metric, tags), { maxLength: 8 }), (metrics) => {
      const pairs: Array<MetricPair.MetricPair.Untyped> = []
      const expected: Array<{ name: string; labels: Record<string, string>; value: number | bigint }> = []
      const kinds = new Map<string, string>()
      metrics.forEach(([{ description, state }, tagList], index) => {
        const name = `m${index}_${state.kind}`
        const tagged = <K extends MetricKey.MetricKey<any>>(key: K) =>
          MetricKey.taggedWithLabels(
            key,
            labels(
              Object.fromEntries(tagList)
            )
          ) as K
        const own = Object.fromEntries(tagList)
        const options = description === undefined ? {} : { description }
        switch (state.kind) {
          case "counter":
            pairs.push(
              pair(tagged(MetricKey.counter(name, { ...options, incremental: true })), MetricState.counter(state.value))
            )
            expected.push({ name, labels: own, value: state.value })
            kinds.set(name, "counter")
            break
          case "bigint":
            pairs.push(
              pair(
                tagged(MetricKey.counter(name, { incremental: true, ...options, bigint: true })),
                MetricState.counter(state.value)
              )
            )
            expected.push({ name, labels: own, value: state.value })
            kinds.set(name, "counter")
            break
          case "gauge":
            pairs.push(pair(tagged(MetricKey.gauge(name, options)), MetricState.gauge(state.value)))
            expected.push({ name, labels: own, value: state.value })
            kinds.set(name, "gauge")
            break
          case "frequency":
            pairs.push(pair(
              tagged(MetricKey.frequency(name, options)),
              MetricState.frequency(new Map(Object.entries(state.words)))
            ))
            for (const [word, count] of Object.entries(state.words)) {
              expected.push({ name, labels: { ...own, key: word }, value: count })
            }
            kinds.set(name, "counter")
            break
          case "histogram": {
            const bounds = [...state.bounds].sort((a, b) => a - b)
            const buckets = [...bounds, Infinity].map((bound) =>
              [bound, state.observations.filter((x) => x <= bound).length] as const
            )
            const sum = state.observations.reduce((a, b) => a + b, 0)
            pairs.push(pair(
              tagged(MetricKey.histogram(name, MetricBoundaries.fromIterable(bounds), description)),
              MetricState.histogram({ buckets, count: state.observations.length, min: 0, max: 0, sum })
            ))
            for (const [bound, count] of buckets) {
              const le = bound === Infinity ? "+Inf" : String(bound)
              expected.push({ name: `${name}_bucket`, labels: { ...own, le }, value: count })
            }
            expected.push({ name: `${name}_sum`, labels: own, value: sum })
            expected.push({ name: `${name}_count`, labels: own, value: state.observations.length })
            kinds.set(name, "histogram")
            break
          }
          case "summary": {
            const quantiles = state.quantiles.map((q, i) => [q, Option.fromNullable(state.values[i])] as const)
            pairs.push(pair(
              tagged(MetricKey.summary({
                name,
                maxAge: "1 minute",
                maxSize: 10,
                error: 0.01,
                quantiles: state.quantiles,
                ...(description === undefined ? {} : { description })
              })),
              MetricState.summary({ error: 0.01, quantiles, count: state.count, min: 0, max: 0, sum: state.sum })
            ))
            for (const [q, v] of quantiles) {
              expected.push({
                name,
                labels: { ...own, quantile: String(q) },
                value: Option.getOrElse(v, () => Number.NaN)
              })
            }
            expected.push({ name: `${name}_sum`, labels: own, value: state.sum })
            expected.push({ name: `${name}_count`, labels: own, value: state.count })
            kinds.set(name, "summary")
            break
          }
        }
      })
      const read = parse(prometheus.format(pairs))
      expect(new Map(read.types)).toEqual(kinds)
      metrics.forEach(([{ description, state }], index) => {
        expect(read.helps.get(`m${index}_${state.kind}`)).toBe(description === "" ? undefined : description)
      })
      expect(read.samples).toHaveLength(expected.length)
      for (const sample of expected) {
        const found = read.samples.find((s) =>
          s.name === sample.name && JSON.stringify(Object.entries(s.labels).sort()) ===
            JSON.stringify(Object.entries(sample.labels).sort())
        )
        expect(found, JSON.stringify(sample, (_, v) => (typeof v === "bigint" ? `${v}n` : v))).toBeDefined()
        if (typeof sample.value === "bigint") expect(BigInt(found!.text)).toBe(sample.value)
        else expect(Object.is(found!.value, sample.value) || found!.value === sample.value).toBe(true)
      }
    }))
  })
})
