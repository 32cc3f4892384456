// The built site in a real browser: every page loads without a console error, a page error or a request beyond
// loopback, and every same-origin link (with its #fragment) resolves.
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as http from "node:http"
import type * as net from "node:net"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { type Browser, chromium, errors, type Page } from "playwright-core"

const chromiumPath = "/usr/bin/chromium"
const docs = fileURLToPath(new URL("..", import.meta.url))
const dist = path.join(docs, ".vitepress", "dist")
const screenshots = path.join(docs, "test", "screenshots")
const vitepress = path.join(docs, "..", "node_modules", "vitepress", "bin", "vitepress.js")

const available = fs.existsSync(chromiumPath)
if (!available && process.env.CI !== "true") {
  console.warn(
    `\n!!! SKIPPED: the docs site's browser test. ${chromiumPath} is missing; install Debian's chromium package` +
      " to run it. !!!\n"
  )
}

const contentTypes: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript",
  ".css": "text/css",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".woff2": "font/woff2",
  ".txt": "text/plain"
}

/** The file a URL path names, with VitePress's clean URLs: `/concepts` is `concepts.html`, `/api/` is `api/index.html`. */
const fileFor = (pathname: string): string | undefined => {
  const relative = decodeURIComponent(pathname).replace(/^\/+/, "")
  const candidates = relative === "" || relative.endsWith("/")
    ? [path.join(relative, "index.html")]
    : [relative, `${relative}.html`, path.join(relative, "index.html")]
  return candidates
    .map((candidate) => path.join(dist, candidate))
    .find((file) => file.startsWith(dist) && fs.existsSync(file) && fs.statSync(file).isFile())
}

const serve = () =>
  new Promise<http.Server>((resolve) => {
    const server = http.createServer((request, response) => {
      const file = fileFor(new URL(request.url ?? "/", "http://localhost").pathname)
      if (file === undefined) {
        response.writeHead(404, { "content-type": contentTypes[".html"] })
        response.end(fs.readFileSync(path.join(dist, "404.html")))
        return
      }
      response.writeHead(200, { "content-type": contentTypes[path.extname(file)] ?? "application/octet-stream" })
      response.end(fs.readFileSync(file))
    })
    server.listen(0, "127.0.0.1", () => resolve(server))
  })

const build = () =>
  new Promise<void>((resolve, reject) => {
    execFile(
      process.execPath,
      [vitepress, "build"],
      { cwd: docs, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) =>
        error === null ? resolve() : reject(new Error(`vitepress build failed:\n${stdout}\n${stderr}`))
    )
  })

/** Every page of the built site, as the clean URL it is served at. */
const pages = (): ReadonlyArray<string> =>
  (fs.readdirSync(dist, { recursive: true }) as Array<string>)
    .filter((file) => file.endsWith(".html") && file !== "404.html")
    .map((file) => "/" + file.replace(/\\/g, "/").replace(/(^|\/)index\.html$/, "$1").replace(/\.html$/, ""))
    .sort()

/**
 * Opens a page and waits for its network to be quiet. On a machine busy with other suites Chromium has once not seen
 * the quiet half second within 30 s on one page of the site's hundred; such a page is opened once more and waited for
 * until loaded, so that its status, links and errors are still checked rather than the run failing on the wait.
 */
const visit = (page: Page, url: string) =>
  page.goto(url, { waitUntil: "networkidle", timeout: 30_000 }).catch((error: unknown) => {
    if (!(error instanceof errors.TimeoutError)) throw error
    return page.goto(url, { waitUntil: "load", timeout: 60_000 })
  })

describe.runIf(available || process.env.CI === "true")("the documentation site", () => {
  let server: http.Server
  let browser: Browser
  let origin: string

  beforeAll(async () => {
    if (!available) throw new Error(`${chromiumPath} is missing: the docs site's browser test must run in CI`)
    // CI builds the site from this tree just before the tests and says so (.ci/run); a second build would take as
    // long again. Anywhere else the test builds it, so it never checks a stale site.
    if (process.env.CONCORD_DOCS_BUILT !== "1") await build()
    server = await serve()
    origin = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`
    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync"
      ]
    })
  }, 300_000)

  afterAll(async () => {
    await browser?.close()
    await new Promise((resolve) => server?.close(resolve))
  })

  it("every page loads cleanly, and every same-origin link resolves", async () => {
    const all = pages()
    expect(all).toEqual(expect.arrayContaining(["/", "/why", "/quick-start", "/registry", "/benchmarks", "/api/"]))
    const problems: Array<string> = []
    const links = new Map<string, string>()
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
    // Nothing may come from beyond loopback: the site must work offline.
    await context.route("**/*", (route) => {
      const url = new URL(route.request().url())
      if (url.origin === origin || url.protocol === "data:") return route.continue()
      problems.push(`a request beyond loopback: ${url.href}`)
      return route.abort()
    })
    // A few tabs load the pages side by side: most of a page's time is the quiet half second that tells the network
    // is idle, which tabs can wait out together.
    const hrefsOf = new Map<string, ReadonlyArray<string>>()
    const queue = [...all]
    const tab = async () => {
      const page = await context.newPage()
      let current = ""
      page.on("console", (message) => {
        if (message.type() === "error") problems.push(`${current}: console error: ${message.text()}`)
      })
      page.on("pageerror", (error) => problems.push(`${current}: page error: ${error.message}`))
      for (let pathname = queue.shift(); pathname !== undefined; pathname = queue.shift()) {
        current = pathname
        const response = await visit(page, origin + pathname)
        if (response?.status() !== 200) problems.push(`${pathname}: status ${response?.status()}`)
        hrefsOf.set(
          pathname,
          await page.$$eval("a[href]", (anchors) => anchors.map((anchor) => anchor.getAttribute("href")!))
        )
      }
    }
    await Promise.all(Array.from({ length: 6 }, tab))
    await context.close()
    // Each link is named after the first page, in order, that has it.
    for (const pathname of all) {
      for (const raw of hrefsOf.get(pathname)!) {
        const href = new URL(raw, origin + pathname).href
        if (new URL(href).origin === origin && !links.has(href)) links.set(href, pathname)
      }
    }

    const anchors = new Map<string, ReadonlySet<string>>()
    const idsOf = async (pathname: string) => {
      if (!anchors.has(pathname)) {
        const html = await fetch(origin + pathname).then((r) => r.text())
        anchors.set(pathname, new Set([...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]!)))
      }
      return anchors.get(pathname)!
    }
    for (const [href, from] of links) {
      const url = new URL(href)
      const response = await fetch(origin + url.pathname)
      if (response.status !== 200) {
        problems.push(`${from}: broken link ${url.pathname} (${response.status})`)
        continue
      }
      const fragment = decodeURIComponent(url.hash.slice(1))
      if (fragment !== "" && !(await idsOf(url.pathname)).has(fragment)) {
        problems.push(`${from}: link ${url.pathname}#${fragment} names no element on that page`)
      }
    }
    expect(problems).toEqual([])
    expect(links.size).toBeGreaterThan(50)
  }, 300_000)

  it("saves screenshots of the home page and the registry page", async () => {
    fs.mkdirSync(screenshots, { recursive: true })
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
    for (const [pathname, name] of [["/", "home"], ["/registry", "registry"]] as const) {
      await page.goto(origin + pathname, { waitUntil: "networkidle" })
      await page.screenshot({ path: path.join(screenshots, `${name}.png`), fullPage: true })
      expect(fs.statSync(path.join(screenshots, `${name}.png`)).size).toBeGreaterThan(10_000)
    }
    await page.close()
  }, 120_000)
})
