import * as Schema from "effect/Schema"
import type * as Http from "node:http"
import type { Duplex } from "node:stream"
import { HeadersTooLarge, MalformedRequest, RequestTimeout } from "../Api.js"

/** What Node's parser refused, with the status and JSON body that say so. */
const refusal = (code: string | undefined): { readonly status: string; readonly body: unknown } => {
  switch (code) {
    case "HPE_HEADER_OVERFLOW":
      return {
        status: "431 Request Header Fields Too Large",
        body: Schema.encodeSync(HeadersTooLarge)(
          new HeadersTooLarge({ message: "the request line and headers are larger than the service reads" })
        )
      }
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return {
        status: "408 Request Timeout",
        body: Schema.encodeSync(RequestTimeout)(
          new RequestTimeout({ message: "the request did not arrive in time" })
        )
      }
    case "HPE_INVALID_EOF_STATE":
      return {
        status: "400 Bad Request",
        body: Schema.encodeSync(MalformedRequest)(
          new MalformedRequest({ message: "the connection ended before the request did" })
        )
      }
    default:
      return {
        status: "400 Bad Request",
        body: Schema.encodeSync(MalformedRequest)(
          new MalformedRequest({
            message: `the request is not HTTP/1.1 the service can read${code === undefined ? "" : ` (${code})`}`
          })
        )
      }
  }
}

/** A response Node has begun to write on the connection, which another one must not be written into. */
const isResponding = (socket: Duplex): boolean => {
  const response = (socket as { readonly _httpMessage?: { readonly headersSent?: boolean } | null })._httpMessage
  return response?.headersSent === true
}

/**
 * Answers what Node's HTTP parser refuses with JSON, as every other error, instead of its bare status line: a
 * `MalformedRequest` (400) for bytes that are not a request, such as those past a body longer than its declared
 * `Content-Length` or a body cut short by the end of the connection; `HeadersTooLarge` (431) and `RequestTimeout`
 * (408) where Node answers those. The connection is closed after the answer, since what follows on it cannot be
 * trusted. As Node does, nothing is written when the connection is gone or a response to an earlier request on it is
 * already being written: the connection is only closed.
 *
 * @internal
 */
export const install = <S extends Http.Server>(server: S): S => {
  server.on("clientError", (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (error.code === "ECONNRESET" || !socket.writable || isResponding(socket)) {
      socket.destroy()
      return
    }
    const { body, status } = refusal(error.code)
    const json = JSON.stringify(body)
    socket.end(
      `HTTP/1.1 ${status}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(json)}\r\n` +
        `connection: close\r\n\r\n${json}`,
      () => socket.destroy()
    )
  })
  return server
}
