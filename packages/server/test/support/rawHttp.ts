// Raw HTTP/1.1 over a socket, for requests a standard client would normalise, refuse or never send: dot segments in
// the path, a Content-Length that lies, bytes that are not HTTP, a connection ended mid-body.
import * as net from "node:net"

export interface RawResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

export interface RawExchange {
  readonly responses: ReadonlyArray<RawResponse>
  /** Whether the server closed the connection (rather than the wait ending). */
  readonly closed: boolean
  /** Bytes received past the last whole response. */
  readonly rest: string
}

export interface RawRequest {
  readonly method: string
  /** Sent as it is, dot segments and escapes included. */
  readonly path: string
  readonly headers?: Readonly<Record<string, string>>
  readonly body?: string
  /** The Content-Length to declare; the body's byte length without it (none for a GET without a body). */
  readonly contentLength?: number
}

/** A request's bytes: `connection: close`, so that the server closes the connection after its answer. */
export const encode = (request: RawRequest): Buffer => {
  const body = Buffer.from(request.body ?? "", "utf8")
  const length = request.contentLength ?? (request.body === undefined ? undefined : body.length)
  const headers = {
    host: "127.0.0.1",
    connection: "close",
    ...(length === undefined ? {} : { "content-length": String(length) }),
    ...request.headers
  }
  const head = [`${request.method} ${request.path} HTTP/1.1`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)]
  return Buffer.concat([Buffer.from(`${head.join("\r\n")}\r\n\r\n`, "latin1"), body])
}

const decodeChunked = (data: Buffer): Buffer | undefined => {
  const parts: Array<Buffer> = []
  let at = 0
  for (;;) {
    const end = data.indexOf("\r\n", at)
    if (end === -1) return undefined
    const size = parseInt(data.subarray(at, end).toString("latin1"), 16)
    if (size === 0) return Buffer.concat(parts)
    if (data.length < end + 2 + size + 2) return undefined
    parts.push(data.subarray(end + 2, end + 2 + size))
    at = end + 2 + size + 2
  }
}

/** The whole responses at the start of `data`, and where the first incomplete one starts; `bodiless` for HEAD. */
export const parseResponses = (
  data: Buffer,
  bodiless = false
): { readonly responses: Array<RawResponse>; readonly used: number } => {
  const responses: Array<RawResponse> = []
  let at = 0
  for (;;) {
    const headEnd = data.indexOf("\r\n\r\n", at)
    if (headEnd === -1) break
    const [statusLine, ...lines] = data.subarray(at, headEnd).toString("latin1").split("\r\n")
    const headers: Record<string, string> = {}
    for (const line of lines) {
      const colon = line.indexOf(":")
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
    }
    const status = Number(statusLine!.split(" ")[1])
    const rest = data.subarray(headEnd + 4)
    let body: Buffer | undefined
    let length: number
    if (bodiless) {
      body = Buffer.alloc(0)
      length = 0
    } else if (headers["transfer-encoding"] === "chunked") {
      body = decodeChunked(rest)
      length = body === undefined ? 0 : rest.indexOf("0\r\n\r\n") + 5
    } else {
      length = Number(headers["content-length"] ?? "0")
      body = rest.length >= length ? rest.subarray(0, length) : undefined
    }
    if (body === undefined) break
    responses.push({ status, headers, body: body.toString("utf8") })
    at = headEnd + 4 + length
  }
  return { responses, used: at }
}

/**
 * Sends `bytes` on a connection of their own and collects what comes back, until the server closes the connection,
 * `responses` whole responses have come, or `timeoutMs` has passed. With `halfClose`, the sending side is ended after
 * the bytes, as a client that has nothing more to send; `bodiless` reads the answers to a HEAD.
 */
export const exchange = (
  port: number,
  bytes: Buffer,
  options: {
    readonly halfClose?: boolean
    readonly responses?: number
    readonly timeoutMs?: number
    readonly bodiless?: boolean
  } = {}
): Promise<RawExchange> =>
  new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1")
    let data = Buffer.alloc(0)
    let done = false
    const finish = (closed: boolean) => {
      if (done) return
      done = true
      clearTimeout(timer)
      socket.destroy()
      const { responses, used } = parseResponses(data, options.bodiless)
      resolve({ responses, closed, rest: data.subarray(used).toString("utf8") })
    }
    const timer = setTimeout(() => finish(false), options.timeoutMs ?? 5_000)
    socket.on("connect", () => {
      socket.write(bytes)
      if (options.halfClose === true) socket.end()
    })
    socket.on("data", (chunk) => {
      data = Buffer.concat([data, chunk])
      if (
        options.responses !== undefined && parseResponses(data, options.bodiless).responses.length >= options.responses
      ) finish(false)
    })
    socket.on("close", () => finish(true))
    socket.on("error", (error) => (data.length > 0 ? finish(true) : reject(error)))
  })
