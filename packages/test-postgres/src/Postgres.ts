/**
 * A throwaway PostgreSQL cluster for tests and benchmarks: Debian's `postgresql` binaries, a temp dir, a free
 * loopback port, `fsync` off. `initdb` refuses to run as root, so as root the cluster belongs to the `postgres`
 * user.
 *
 * @since 0.1.0
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"

/**
 * @since 0.1.0
 * @category models
 */
export interface Cluster {
  /** A connection URL to the cluster's `concord` database. */
  readonly url: string
  readonly stop: () => void
}

/**
 * The directory of the newest installed PostgreSQL's binaries, if any.
 *
 * @since 0.1.0
 * @category starting
 */
export const binaries = (): string | undefined => {
  const root = "/usr/lib/postgresql"
  if (!fs.existsSync(root)) return undefined
  const versions = fs.readdirSync(root).filter((v) => fs.existsSync(path.join(root, v, "bin", "pg_ctl")))
  const newest = versions.sort((a, b) => Number(a) - Number(b)).pop()
  return newest === undefined ? undefined : path.join(root, newest, "bin")
}

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })

/**
 * Starts a cluster (about half a second), or returns `undefined` when PostgreSQL is not installed.
 *
 * @since 0.1.0
 * @category starting
 */
export const start = async (options?: { readonly settings?: ReadonlyArray<string> }): Promise<Cluster | undefined> => {
  const bin = binaries()
  if (bin === undefined) return undefined
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "concord-pg-"))
  const asRoot = process.getuid?.() === 0
  if (asRoot) execFileSync("chown", ["postgres", dir])
  const run = (tool: string, args: ReadonlyArray<string>) =>
    asRoot
      ? execFileSync("runuser", ["-u", "postgres", "--", path.join(bin, tool), ...args], { stdio: "pipe" })
      : execFileSync(path.join(bin, tool), args, { stdio: "pipe" })
  const port = await freePort()
  const settings = [
    "-c listen_addresses=127.0.0.1",
    `-p ${port}`,
    `-k ${dir}`,
    "-c max_connections=200",
    ...(options?.settings ?? [])
  ]
  run("initdb", ["-D", `${dir}/data`, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"])
  run("pg_ctl", ["-D", `${dir}/data`, "-l", `${dir}/log`, "-w", "-o", settings.join(" "), "start"])
  execFileSync(path.join(bin, "psql"), [
    "-h",
    "127.0.0.1",
    "-p",
    String(port),
    "-U",
    "postgres",
    "-c",
    "CREATE DATABASE concord"
  ])
  return {
    url: `postgres://postgres@127.0.0.1:${port}/concord`,
    stop: () => {
      run("pg_ctl", ["-D", `${dir}/data`, "-m", "fast", "-w", "stop"])
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }
}
