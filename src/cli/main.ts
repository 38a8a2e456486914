#!/usr/bin/env node
/**
 * `tl-kit`: the command-line tool (package.json `bin`). `tl-kit --help` lists the commands.
 *
 * @module
 */
import { runCli } from './run';

runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr }).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // runCli reports every error itself; this is the last line of defence.
    process.stderr.write(`tl-kit: ${String(err)}\n`);
    process.exitCode = 1;
  },
);
