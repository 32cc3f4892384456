import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"

/**
 * `OTEL_SERVICE_NAME`, when it is set and not empty (OpenTelemetry's specification reads an empty variable as unset).
 *
 * @internal
 */
export const serviceName: Config.Config<Option.Option<string>> = Config.option(Config.string("OTEL_SERVICE_NAME")).pipe(
  Config.map(Option.filter((name) => name.trim() !== ""))
)

/**
 * Headers as `OTEL_EXPORTER_OTLP_HEADERS` writes them: `key=value` pairs separated by commas, each part trimmed and
 * its value percent-decoded, or `undefined` for an empty text.
 *
 * @internal
 */
export const parseHeaders = (text: string): Either.Either<Record<string, string> | undefined, string> => {
  const headers: Record<string, string> = {}
  for (const pair of text.split(",")) {
    if (pair.trim() === "") continue
    const at = pair.indexOf("=")
    const key = at === -1 ? "" : pair.slice(0, at).trim()
    if (key === "") return Either.left("OTEL_EXPORTER_OTLP_HEADERS must be key=value pairs separated by commas")
    try {
      headers[key.toLowerCase()] = decodeURIComponent(pair.slice(at + 1).trim())
    } catch {
      // Not named: the value may be a secret.
      return Either.left(`OTEL_EXPORTER_OTLP_HEADERS: the value of ${key} is not valid percent-encoding`)
    }
  }
  return Either.right(Object.keys(headers).length === 0 ? undefined : headers)
}

/**
 * `OTEL_EXPORTER_OTLP_HEADERS`, parsed (see {@link parseHeaders}), redacted: the headers may hold a collector's key.
 *
 * @internal
 */
export const headers: Config.Config<Redacted.Redacted<Record<string, string>> | undefined> = Config.option(
  Config.redacted("OTEL_EXPORTER_OTLP_HEADERS")
).pipe(
  Config.mapOrFail((text) =>
    Option.isNone(text) ? Either.right(undefined) : parseHeaders(Redacted.value(text.value)).pipe(
      Either.mapBoth({
        onLeft: (message) => ConfigError.InvalidData(["OTEL_EXPORTER_OTLP_HEADERS"], message),
        onRight: (headers) => headers === undefined ? undefined : Redacted.make(headers)
      })
    )
  )
)

/** The samplers of `OTEL_TRACES_SAMPLER` that a ratio says, each with its ratio (`undefined`: the argument's). */
const samplers: Readonly<Record<string, number | undefined>> = {
  always_on: 1,
  parentbased_always_on: 1,
  always_off: 0,
  parentbased_always_off: 0,
  traceidratio: undefined,
  parentbased_traceidratio: undefined
}

/**
 * The trace ratio that `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG` say (empty values count as unset), or
 * `undefined` when no sampler is named: `always_on` is 1, `always_off` 0, `traceidratio` its argument (default 1), each
 * also as its `parentbased_` variant. A trace is always sampled as its parent is (see `OtlpExport.Options.traceRatio`),
 * whichever variant is named. A sampler that no ratio says, or an argument that is no number from 0 to 1, is refused,
 * with the variable that says it.
 *
 * @internal
 */
export const samplerRatio = (
  sampler: string | undefined,
  argument: string | undefined
): Either.Either<number | undefined, { readonly variable: string; readonly message: string }> => {
  const name = sampler?.trim().toLowerCase() ?? ""
  if (name === "") return Either.right(undefined)
  if (!Object.hasOwn(samplers, name)) {
    return Either.left({
      variable: "OTEL_TRACES_SAMPLER",
      message: `must be one of ${Object.keys(samplers).join(", ")}, not ${JSON.stringify(sampler)}`
    })
  }
  const fixed = samplers[name]
  if (fixed !== undefined) return Either.right(fixed)
  const text = argument?.trim() ?? ""
  if (text === "") return Either.right(1)
  const ratio = Number(text)
  return ratio >= 0 && ratio <= 1
    ? Either.right(ratio)
    : Either.left({ variable: "OTEL_TRACES_SAMPLER_ARG", message: `must be a number from 0 to 1, not ${argument}` })
}

/**
 * The trace ratio from the environment: `CONCORD_OTLP_TRACE_RATIO` when it is set and not empty, else what
 * `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG` say (see {@link samplerRatio}), else missing. Its range is checked
 * where the flag's is.
 *
 * @internal
 */
export const traceRatio: Config.Config<number> = Config.all([
  Config.option(Config.string("CONCORD_OTLP_TRACE_RATIO")),
  Config.option(Config.string("OTEL_TRACES_SAMPLER")),
  Config.option(Config.string("OTEL_TRACES_SAMPLER_ARG"))
]).pipe(
  Config.mapOrFail(([own, sampler, argument]) => {
    const text = Option.getOrElse(own, () => "").trim()
    if (text !== "") {
      const ratio = Number(text)
      return Number.isNaN(ratio)
        ? Either.left(ConfigError.InvalidData(["CONCORD_OTLP_TRACE_RATIO"], `must be a number, not ${text}`))
        : Either.right(ratio)
    }
    return samplerRatio(Option.getOrUndefined(sampler), Option.getOrUndefined(argument)).pipe(
      Either.mapLeft(({ message, variable }) => ConfigError.InvalidData([variable], message)),
      Either.flatMap((ratio) =>
        ratio === undefined
          ? Either.left(ConfigError.MissingData([], "neither CONCORD_OTLP_TRACE_RATIO nor OTEL_TRACES_SAMPLER is set"))
          : Either.right(ratio)
      )
    )
  })
)
