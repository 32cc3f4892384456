import { defaultServerConditions } from "vite"
import type { ViteUserConfig } from "vitest/config"

// Workspace packages resolve to their TypeScript sources through this export condition, so tests need no build.
const conditions = ["@concord/source", ...defaultServerConditions]

export const shared: ViteUserConfig = {
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    setupFiles: [new URL("./vitest.setup.ts", import.meta.url).pathname],
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000
  }
}
