#!/usr/bin/env node
// The installed `concord` command. Plain Node runs the compiled CLI in ../dist, which `npm run build` (or
// `npm start`, which builds first) produces; this file exists before any build, so npm can link it at install.
import process from "node:process"

import("../dist/bin.js").catch((error) => {
  if (error?.code === "ERR_MODULE_NOT_FOUND" && String(error.message).includes("dist/bin.js")) {
    process.stderr.write("concord: the CLI is not built yet: run `npm run build` in the repository first\n")
    process.exit(1)
  }
  throw error
})
