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
