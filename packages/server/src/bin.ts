#!/usr/bin/env node
import { run, runMain } from "./Cli.js"

runMain("concord", run(process.argv))
