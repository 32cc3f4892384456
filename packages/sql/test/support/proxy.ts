// A TCP proxy in front of a server that can cut the network between them as a partition does: connections stay open
// on both sides and nothing gets through, neither data nor the end of a connection.
import { Effect } from "effect"
import * as net from "node:net"

export interface Proxy {
  /** The proxy's port on 127.0.0.1. */
  readonly port: number
  /** From now on nothing passes, in either direction, on any connection; new connections are accepted and starve. */
  readonly partition: () => void
}

/** A proxy to 127.0.0.1:`target` for the scope: closing it ends every connection. */
export const start = (target: number) =>
  Effect.acquireRelease(
    Effect.async<{ readonly proxy: Proxy; readonly close: () => void }>((resume) => {
      let partitioned = false
      const sockets = new Set<net.Socket>()
      const track = (socket: net.Socket) => {
        sockets.add(socket)
        socket.on("close", () => sockets.delete(socket))
        // A partition swallows errors too: the other side hears nothing.
        socket.on("error", () => {})
      }
      const forward = (from: net.Socket, to: net.Socket) => {
        from.on("data", (chunk) => {
          if (!partitioned) to.write(chunk)
        })
        from.on("end", () => {
          if (!partitioned) to.end()
        })
      }
      const server = net.createServer((client) => {
        track(client)
        if (partitioned) return
        const upstream = net.connect(target, "127.0.0.1")
        track(upstream)
        forward(client, upstream)
        forward(upstream, client)
      })
      server.listen(0, "127.0.0.1", () =>
        resume(Effect.succeed({
          proxy: {
            port: (server.address() as net.AddressInfo).port,
            partition: () => {
              partitioned = true
            }
          },
          close: () => {
            server.close()
            for (const socket of sockets) socket.destroy()
          }
        })))
    }),
    ({ close }) => Effect.sync(close)
  ).pipe(Effect.map(({ proxy }) => proxy))
