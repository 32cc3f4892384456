// A strict reader of Prometheus's text exposition format (version 0.0.4), for the tests: it refuses what a scraper
// would refuse (a bad name, an unknown escape, a sample before its TYPE, a second TYPE or HELP for a name) and gives
// back every sample's value by name and labels.

export type Value = number

export interface Sample {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: Value
  /** The value as written: a bigint counter's is exact here only. */
  readonly text: string
}

export interface Exposition {
  readonly types: ReadonlyMap<string, string>
  readonly helps: ReadonlyMap<string, string>
  readonly samples: ReadonlyArray<Sample>
  /** The value of the sample of this name with exactly these labels, or `undefined`. */
  readonly value: (name: string, labels?: Readonly<Record<string, string>>) => Value | undefined
  /** The sum of the samples of this name whose labels include these. */
  readonly sum: (name: string, labels?: Readonly<Record<string, string>>) => number
}

const metricName = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const labelName = /^[a-zA-Z_][a-zA-Z0-9_]*$/
const types = new Set(["counter", "gauge", "histogram", "summary", "untyped"])

const parseValue = (text: string): number => {
  if (text === "+Inf") return Number.POSITIVE_INFINITY
  if (text === "-Inf") return Number.NEGATIVE_INFINITY
  if (text === "NaN") return Number.NaN
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new Error(`not a value: ${text}`)
  return Number(text)
}

const unescapeHelp = (text: string) =>
  text.replace(/\\(.)/g, (_, c: string) => {
    if (c === "\\") return "\\"
    if (c === "n") return "\n"
    return `\\${c}`
  })

/** The labels of `{...}` from `at` (the brace), and where they end. */
const parseLabels = (line: string, at: number): { labels: Record<string, string>; end: number } => {
  const labels: Record<string, string> = {}
  let i = at + 1
  while (line[i] !== "}") {
    const equals = line.indexOf("=", i)
    const name = line.slice(i, equals)
    if (!labelName.test(name) || name.startsWith("__")) throw new Error(`bad label name ${name}: ${line}`)
    if (name in labels) throw new Error(`label ${name} twice: ${line}`)
    if (line[equals + 1] !== "\"") throw new Error(`unquoted label value: ${line}`)
    let value = ""
    i = equals + 2
    for (; line[i] !== "\""; i++) {
      if (i >= line.length) throw new Error(`unterminated label value: ${line}`)
      if (line[i] === "\n") throw new Error(`raw line feed in a label value: ${line}`)
      if (line[i] !== "\\") {
        value += line[i]
        continue
      }
      const escaped = line[++i]
      if (escaped === "\\") value += "\\"
      else if (escaped === "\"") value += "\""
      else if (escaped === "n") value += "\n"
      else throw new Error(`unknown escape \\${escaped}: ${line}`)
    }
    labels[name] = value
    i++
    if (line[i] === ",") i++
    else if (line[i] !== "}") throw new Error(`expected , or }: ${line}`)
  }
  return { labels, end: i + 1 }
}

const sameLabels = (a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>) => {
  const keys = Object.keys(a)
  return keys.length === Object.keys(b).length && keys.every((key) => b[key] === a[key])
}

/** The family a sample belongs to: its name, or its histogram's or summary's. */
const familyOf = (name: string, types: ReadonlyMap<string, string>) => {
  if (types.has(name)) return name
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    const base = name.slice(0, -suffix.length)
    if (name.endsWith(suffix) && (types.get(base) === "histogram" || types.get(base) === "summary")) return base
  }
  return undefined
}

/** Reads an exposition, or throws saying what a scraper would refuse. */
export const parse = (text: string): Exposition => {
  if (text !== "" && !text.endsWith("\n")) throw new Error("the exposition must end with a line feed")
  const typeOf = new Map<string, string>()
  const helps = new Map<string, string>()
  const samples: Array<Sample> = []
  const seen = new Set<string>()
  for (const line of text.split("\n").slice(0, -1)) {
    const comment = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line)
    if (comment !== null) {
      const [, kind, name, rest] = comment as unknown as [string, string, string, string]
      if (!metricName.test(name)) throw new Error(`bad metric name: ${line}`)
      if (kind === "HELP") {
        if (helps.has(name)) throw new Error(`second HELP: ${line}`)
        if (typeOf.has(name)) throw new Error(`HELP after TYPE: ${line}`)
        helps.set(name, unescapeHelp(rest))
      } else {
        if (typeOf.has(name)) throw new Error(`second TYPE: ${line}`)
        if (!types.has(rest)) throw new Error(`unknown type: ${line}`)
        typeOf.set(name, rest)
      }
      continue
    }
    if (line.startsWith("#")) throw new Error(`unexpected comment: ${line}`)
    const nameEnd = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0].length ?? 0
    const name = line.slice(0, nameEnd)
    if (name === "") throw new Error(`no metric name: ${line}`)
    const family = familyOf(name, typeOf)
    if (family === undefined) throw new Error(`sample before its TYPE: ${line}`)
    const { end, labels } = line[nameEnd] === "{" ? parseLabels(line, nameEnd) : { labels: {}, end: nameEnd }
    if (line[end] !== " ") throw new Error(`expected a space before the value: ${line}`)
    const identity = `${name}${JSON.stringify(Object.entries(labels).sort())}`
    if (seen.has(identity)) throw new Error(`sample twice: ${line}`)
    seen.add(identity)
    const text = line.slice(end + 1)
    samples.push({ name, labels, value: parseValue(text), text })
  }
  return {
    types: typeOf,
    helps,
    samples,
    value: (name, labels = {}) =>
      samples.find((sample) => sample.name === name && sameLabels(sample.labels, labels))?.value,
    sum: (name, labels = {}) =>
      samples.filter((sample) =>
        sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value)
      ).reduce((total, sample) => total + sample.value, 0)
  }
}
