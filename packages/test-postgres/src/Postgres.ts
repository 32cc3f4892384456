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
  /** Stops the cluster (thawing it first if it is frozen) and deletes its files. */
  readonly stop: () => void
  /**
   * Suspends every process of the cluster (`SIGSTOP`: the postmaster, then each of its children), as a hung server
   * or a network partition would look to its clients: connections stay open and accept what is sent, and nothing
   * answers. New connections are accepted by the kernel and never served. Idempotent.
   *
   * @since 0.3.0
   */
  readonly freeze: () => void
  /**
   * Resumes the processes {@link freeze} suspended (`SIGCONT`), which go on where they were. Idempotent.
   *
   * @since 0.3.0
   */
  readonly thaw: () => void
  /**
   * Stops the server at once, like a crash (`pg_ctl stop -m immediate`): every connection is cut, open transactions
   * are lost, and the next start recovers from the write-ahead log. Thaws it first if it is frozen.
   *
   * @since 0.3.0
   */
  readonly stopImmediate: () => void
  /**
   * Starts the server again after {@link stopImmediate}, on the same port with the same settings, and waits until it
   * accepts connections.
   *
   * @since 0.3.0
   */
  readonly restart: () => void
}

/** The postmaster of a running cluster: the first line of its `postmaster.pid`. */
const postmasterOf = (dataDir: string): number | undefined => {
  const pidFile = path.join(dataDir, "postmaster.pid")
  if (!fs.existsSync(pidFile)) return undefined
  const pid = Number(fs.readFileSync(pidFile, "utf8").split("\n")[0])
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined
}

/** The children of a process, from `/proc`. */
const childrenOf = (parent: number): ReadonlyArray<number> => {
  const children: Array<number> = []
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue
    try {
      // The parent's pid is the second field after the command, which is in parentheses and may hold spaces.
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8")
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === parent) children.push(Number(entry))
    } catch {
      // The process ended meanwhile.
    }
  }
  return children
}

/** Sends `signal` to each process, skipping those that ended meanwhile. */
const signalAll = (pids: ReadonlyArray<number>, signal: NodeJS.Signals) => {
  for (const pid of pids) {
    try {
      process.kill(pid, signal)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error
    }
  }
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
  const dataDir = `${dir}/data`
  run("initdb", ["-D", dataDir, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"])
  const startServer = () => run("pg_ctl", ["-D", dataDir, "-l", `${dir}/log`, "-w", "-o", settings.join(" "), "start"])
  startServer()
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
  // The processes frozen, thawed in the same order: the postmaster first, so that it forks no new child meanwhile.
  let frozen: ReadonlyArray<number> = []
  const freeze = () => {
    if (frozen.length > 0) return
    const postmaster = postmasterOf(dataDir)
    if (postmaster === undefined) throw new Error(`no PostgreSQL server runs in ${dataDir}`)
    signalAll([postmaster], "SIGSTOP")
    const children = childrenOf(postmaster)
    signalAll(children, "SIGSTOP")
    frozen = [postmaster, ...children]
  }
  const thaw = () => {
    signalAll(frozen, "SIGCONT")
    frozen = []
  }
  return {
    url: `postgres://postgres@127.0.0.1:${port}/concord`,
    stop: () => {
      thaw()
      if (postmasterOf(dataDir) !== undefined) run("pg_ctl", ["-D", dataDir, "-m", "fast", "-w", "stop"])
      fs.rmSync(dir, { recursive: true, force: true })
    },
    freeze,
    thaw,
    stopImmediate: () => {
      thaw()
      run("pg_ctl", ["-D", dataDir, "-m", "immediate", "-w", "stop"])
    },
    restart: startServer
  }
}
