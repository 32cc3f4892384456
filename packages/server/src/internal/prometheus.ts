// Effect's metric registry in Prometheus's text exposition format, version 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/), as `GET /metrics` serves it.
import { HttpApiBuilder, HttpServerResponse } from "@effect/platform"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import type * as MetricKey from "effect/MetricKey"
import * as MetricKeyType from "effect/MetricKeyType"
import type * as MetricPair from "effect/MetricPair"
import * as MetricState from "effect/MetricState"

/**
 * The `Content-Type` of the exposition.
 *
 * @internal
 */
export const contentType = "text/plain; version=0.0.4; charset=utf-8"

/** The types of the format; Effect's frequencies are counters, one series a word, and its counters counters. */
type Kind = "counter" | "gauge" | "histogram" | "summary"

/**
 * A metric name as the format allows it: `[a-zA-Z_:][a-zA-Z0-9_:]*`, every other character an underscore.
 *
 * @internal
 */
export const metricName = (name: string): string => {
  const replaced = name.replace(/[^a-zA-Z0-9_:]/g, "_")
  return replaced === "" || /^[0-9]/.test(replaced) ? `_${replaced}` : replaced
}

/**
 * A label name as the format allows it: `[a-zA-Z_][a-zA-Z0-9_]*`, every other character an underscore, and not
 * beginning with `__`, which Prometheus keeps for itself.
 *
 * @internal
 */
export const labelName = (name: string): string => {
  const replaced = name.replace(/[^a-zA-Z0-9_]/g, "_").replace(/^_+/, "_")
  return replaced === "" || /^[0-9]/.test(replaced) ? `_${replaced}` : replaced
}

/**
 * A label value as the format quotes it: backslash, double quote and line feed escaped.
 *
 * @internal
 */
export const labelValue = (value: string): string =>
  value.replace(/\\/g, "\\\\").replace(/"/g, "\\\"").replace(/\n/g, "\\n")

/** A `# HELP` text: backslash and line feed escaped (a double quote stays as it is). */
const helpText = (text: string): string => text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")

/**
 * A sample's value as the format writes it (Go's float syntax, which reads JavaScript's too): `NaN`, `+Inf`, `-Inf`.
 *
 * @internal
 */
export const sampleValue = (value: number | bigint): string => {
  if (typeof value === "bigint") return value.toString()
  if (Number.isNaN(value)) return "NaN"
  if (value === Number.POSITIVE_INFINITY) return "+Inf"
  if (value === Number.NEGATIVE_INFINITY) return "-Inf"
  return String(value)
}

/**
 * The labels of a series, from its key's tags, sorted by name so that a series is written one way whatever the order
 * its tags were given in, without `reserved` (the label the format adds itself: `le`, `quantile`) and with one value a
 * name (the first, in the tags' order, when two tags read as one name).
 */
const labelsOf = (tags: ReadonlyArray<{ readonly key: string; readonly value: string }>, reserved?: string) => {
  const labels = new Map<string, string>()
  for (const tag of tags) {
    const name = labelName(tag.key)
    if (name !== reserved && !labels.has(name)) labels.set(name, tag.value)
  }
  return [...labels].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
}

/** `{a="x",b="y"}` with `extra` last, or nothing for no label. */
const rendered = (labels: ReadonlyArray<readonly [string, string]>, extra?: readonly [string, string]): string => {
  const all = extra === undefined ? labels : [...labels, extra]
  return all.length === 0 ? "" : `{${all.map(([name, value]) => `${name}="${labelValue(value)}"`).join(",")}}`
}

/**
 * The format's type of a metric: an Effect counter not declared incremental may go down (`effect_fiber_active` is one),
 * which a Prometheus counter never does, so it is a gauge.
 */
const kindOf = (key: MetricKey.MetricKey.Untyped, state: MetricState.MetricState.Untyped): Kind | undefined => {
  if (MetricState.isCounterState(state)) {
    return MetricKeyType.isCounterKey(key.keyType) && key.keyType.incremental ? "counter" : "gauge"
  }
  if (MetricState.isFrequencyState(state)) return "counter"
  if (MetricState.isGaugeState(state)) return "gauge"
  if (MetricState.isHistogramState(state)) return "histogram"
  if (MetricState.isSummaryState(state)) return "summary"
  return undefined
}

/** The reserved label of a kind of state: the one the format writes itself, which a tag may not take. */
const reservedOf = (state: MetricState.MetricState.Untyped): string | undefined =>
  MetricState.isHistogramState(state)
    ? "le"
    : MetricState.isSummaryState(state)
    ? "quantile"
    : MetricState.isFrequencyState(state)
    ? "key"
    : undefined

/** The sample lines of one series, each with the identity (name and labels) that must be unique in the output. */
const samplesOf = (
  name: string,
  labels: ReadonlyArray<readonly [string, string]>,
  state: MetricState.MetricState.Untyped
): Array<readonly [string, string]> => {
  const sample = (suffix: string, value: number | bigint, extra?: readonly [string, string]) => {
    const identity = `${name}${suffix}${rendered(labels, extra)}`
    return [identity, `${identity} ${sampleValue(value)}`] as const
  }
  if (MetricState.isCounterState(state)) return [sample("", state.count)]
  if (MetricState.isGaugeState(state)) return [sample("", state.value)]
  if (MetricState.isFrequencyState(state)) {
    return [...state.occurrences.keys()].sort().map((word) => sample("", state.occurrences.get(word)!, ["key", word]))
  }
  if (MetricState.isHistogramState(state)) {
    // Effect's buckets are cumulative already, and end with +Inf; the +Inf bucket is written as the count, which
    // the format requires it to equal (a NaN observed is counted but in no bucket).
    const buckets = state.buckets.filter(([bound]) => Number.isFinite(bound))
      .map(([bound, count]) => sample("_bucket", count, ["le", sampleValue(bound)]))
    return [
      ...buckets,
      sample("_bucket", state.count, ["le", "+Inf"]),
      sample("_sum", state.sum),
      sample("_count", state.count)
    ]
  }
  if (MetricState.isSummaryState(state)) {
    const quantiles = state.quantiles.map(([quantile, value]) =>
      sample("", value._tag === "Some" ? value.value : Number.NaN, ["quantile", sampleValue(quantile)])
    )
    return [...quantiles, sample("_sum", state.sum), sample("_count", state.count)]
  }
  return []
}

interface Entry {
  readonly name: string
  readonly kind: Kind
  readonly labels: ReadonlyArray<readonly [string, string]>
  readonly sortKey: string
  readonly key: MetricKey.MetricKey<MetricKeyType.MetricKeyType<unknown, unknown>>
  readonly state: MetricState.MetricState.Untyped
}

const compare = (a: Entry, b: Entry) =>
  a.name < b.name ? -1 : a.name > b.name ? 1 : a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : a.sortKey < b.sortKey
    ? -1
    : a.sortKey > b.sortKey
    ? 1
    : 0

/** The first description among the entries of the name the entry at `from` begins (they follow one another). */
const helpOf = (entries: ReadonlyArray<Entry>, from: number): string | undefined => {
  for (let i = from; i < entries.length && entries[i]!.name === entries[from]!.name; i++) {
    const description = entries[i]!.key.description
    if (description._tag === "Some" && description.value !== "") return description.value
  }
  return undefined
}

/**
 * The exposition of a snapshot of metrics (`Metric.unsafeSnapshot()`): one `# HELP` (from the first description
 * found) and one `# TYPE` a name, then its series, names and series in a fixed order. Names and label names are
 * rewritten into the format's characters; where two metrics then read as one name, the first kind in the order
 * keeps it and the other's series are left out, and a series written twice is written once.
 *
 * @internal
 */
export const format = (snapshot: Iterable<MetricPair.MetricPair.Untyped>): string => {
  const entries: Array<Entry> = []
  for (const { metricKey: key, metricState: state } of snapshot) {
    const kind = kindOf(key, state)
    if (kind === undefined) continue
    const labels = labelsOf(key.tags, reservedOf(state))
    entries.push({ name: metricName(key.name), kind, labels, sortKey: rendered(labels), key, state })
  }
  entries.sort(compare)
  const lines: Array<string> = []
  const written = new Set<string>()
  let current: { readonly name: string; readonly kind: Kind } | undefined
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i]!
    if (current === undefined || current.name !== entry.name) {
      current = entry
      const help = helpOf(entries, i)
      if (help !== undefined) lines.push(`# HELP ${entry.name} ${helpText(help)}`)
      lines.push(`# TYPE ${entry.name} ${entry.kind}`)
    } else if (current.kind !== entry.kind) {
      continue
    }
    for (const [identity, line] of samplesOf(entry.name, entry.labels, entry.state)) {
      if (written.has(identity)) continue
      written.add(identity)
      lines.push(line)
    }
  }
  return lines.length === 0 ? "" : `${lines.join("\n")}\n`
}

/**
 * `GET /metrics`: the exposition of every metric of the process's registry at the time of the request. A route of
 * the router, as `/docs` is, not an endpoint of the API: behind the API's middlewares (the token included), absent
 * from the OpenAPI document, and, when the service is told not to serve it, a path like any other it has not.
 *
 * @internal
 */
export const layerRoute = (path: `/${string}`): Layer.Layer<never> =>
  HttpApiBuilder.Router.use((router) =>
    router.get(
      path,
      Effect.sync(() => HttpServerResponse.text(format(Metric.unsafeSnapshot()), { contentType }))
    )
  )
