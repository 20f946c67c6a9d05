#!/usr/bin/env node
import { CommanderError } from 'commander';
import { describeFailure, EXIT_USAGE } from './errors';
import { buildProgram } from './program';

// The `brokkr` executable. Command handlers report their own failures (see runCommand); what
// reaches here is commander's: help and version (exit 0) and usage errors it already printed.
buildProgram()
  .parseAsync(process.argv)
  .catch((err: unknown) => {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? 0 : EXIT_USAGE;
      return;
    }
    const { line, exitCode } = describeFailure(err);
    process.stderr.write(`${line}\n`);
    process.exitCode = exitCode;
  });
