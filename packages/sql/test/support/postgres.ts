// Vitest global setup: a throwaway PostgreSQL cluster on a loopback port in a temp dir, for the PostgreSQL suites.
// With CI=true a missing server fails the run; locally the suites are skipped, loudly.
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import type { TestProject } from "vitest/node"

declare module "vitest" {
  export interface ProvidedContext {
    readonly pgUrl: string | undefined
  }
}

const binaries = (): string | undefined => {
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

export default async function setup(project: TestProject) {
  const bin = binaries()
  if (bin === undefined) {
    if (process.env.CI === "true") {
      throw new Error(
        "PostgreSQL binaries are missing (Debian's postgresql package): the PostgreSQL suites must run in CI"
      )
    }
    console.warn(
      "\n!!! SKIPPED: every PostgreSQL suite of @concord/sql. No PostgreSQL binaries under /usr/lib/postgresql;" +
        " install Debian's postgresql package to run them. !!!\n"
    )
    project.provide("pgUrl", undefined)
    return
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "concord-pg-"))
  const asRoot = process.getuid?.() === 0
  // initdb refuses to run as root: the cluster belongs to the postgres user.
  if (asRoot) execFileSync("chown", ["postgres", dir])
  const run = (tool: string, args: ReadonlyArray<string>) =>
    asRoot
      ? execFileSync("runuser", ["-u", "postgres", "--", path.join(bin, tool), ...args], { stdio: "pipe" })
      : execFileSync(path.join(bin, tool), args, { stdio: "pipe" })
  const port = await freePort()
  run("initdb", ["-D", `${dir}/data`, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"])
  run("pg_ctl", [
    "-D",
    `${dir}/data`,
    "-l",
    `${dir}/log`,
    "-w",
    "-o",
    `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c max_connections=200 -c fsync=off`,
    "start"
  ])
  execFileSync(path.join(bin, "psql"), [
    "-h",
    "127.0.0.1",
    "-p",
    String(port),
    "-U",
    "postgres",
    "-c",
    "CREATE DATABASE concord_test"
  ])
  project.provide("pgUrl", `postgres://postgres@127.0.0.1:${port}/concord_test`)
  return () => {
    run("pg_ctl", ["-D", `${dir}/data`, "-m", "fast", "-w", "stop"])
    fs.rmSync(dir, { recursive: true, force: true })
  }
}
