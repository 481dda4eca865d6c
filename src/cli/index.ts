#!/usr/bin/env bun
import { main } from "./main.ts";
import { processIo } from "./io.ts";

const code = await main(process.argv.slice(2), processIo());
process.exit(code);
