import { describe, expect, it } from "@effect/vitest"
import { ManagedRuntime } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import * as Release from "../src/Release.js"

// The release before the read side, unpacked from git history into a scratch cache: it is the old code (its store
// has no readAll), it appends, and a cache counts as installed only once the unpacking finished with this bench's
// entry module.
describe("Release", () => {
  it("unpacks the release from git history, runs its own store, and is installed only once complete", async () => {
    // Inside the workspace, as the bench's own cache is: the release resolves its dependencies from there.
    const contenders = new URL("../.contenders", import.meta.url).pathname
    fs.mkdirSync(contenders, { recursive: true })
    const root = fs.mkdtempSync(path.join(contenders, "test-"))
    try {
      const cache = Release.cacheDirectory(root)
      expect(Release.isInstalled(cache)).toBe(false)
      const lines: Array<string> = []
      Release.install((line) => lines.push(line), cache)
      expect(lines).toHaveLength(1)
      expect(Release.isInstalled(cache)).toBe(true)
      const release = (await import(pathToFileURL(path.join(cache, "index.js")).href)) as Release.Release
      const runtime = ManagedRuntime.make(
        release.SqliteEventStore.layer({ filename: path.join(root, "release.db") })
      )
      try {
        const store = await runtime.runPromise(release.EventStore.EventStore)
        expect("readAll" in store).toBe(false)
        const result = await runtime.runPromise(
          store.append(release.StreamId.make("client-1"), release.ExpectedVersion.exact(0), [
            { type: "MeetingNoteAdded", data: { text: "x" } }
          ])
        )
        expect(result).toMatchObject({ firstVersion: 1, lastVersion: 1 })
      } finally {
        await runtime.dispose()
      }
      // An entry module this bench did not write (an older bench's) is stale; so is an unfinished unpacking.
      const entry = path.join(cache, "index.js")
      const written = fs.readFileSync(entry, "utf8")
      fs.appendFileSync(entry, "\n")
      expect(Release.isInstalled(cache)).toBe(false)
      fs.writeFileSync(entry, written)
      expect(Release.isInstalled(cache)).toBe(true)
      fs.rmSync(path.join(cache, "installed-from"))
      expect(Release.isInstalled(cache)).toBe(false)
    } finally {
      fs.rmSync(root, { recursive: true, force: true })
    }
  }, 60_000)
})
