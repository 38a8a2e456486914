/**
 * The command-line tool's dispatcher: picks the command, prints help, and turns every outcome into an exit code
 * (0 success, 1 failure, 2 wrong usage). Errors print as one line, the tl-kit class, code and message, unless
 * `--verbose` asks for the stack.
 */
import type { Io } from './io';
import { VERSION } from '../version';
import { closestNames } from '../internal/suggest';
import { compareFlags, predictFlags, trainFlags } from './flags';
import { errorDetails, errorLine } from './format';
import { COMMANDS, commandHelp, parseFlags, TOOL_OPTIONS, toolHelp, UsageError, type CommandSpec, type ParsedArgs } from './usage';

export type { Io } from './io';

/**
 * Each command: its flags read first (usage errors come before any slow work), then its module loaded, which loads
 * tfjs (so `--help` and usage errors answer at once).
 */
const HANDLERS: Readonly<Record<string, (io: Io, parsed: ParsedArgs) => Promise<number>>> = {
  train: async (io, parsed) => {
    const flags = trainFlags(parsed);
    return (await import('./train')).train(io, flags);
  },
  predict: async (io, parsed) => {
    const flags = predictFlags(parsed);
    return (await import('./predict')).predict(io, flags);
  },
  compare: async (io, parsed) => {
    const flags = compareFlags(parsed);
    return (await import('./compare')).compare(io, flags);
  },
};

/** Runs the tool on `argv` (without `node` and the script); returns the exit code. Never throws. */
export async function runCli(argv: readonly string[], io: Io): Promise<number> {
  const first = argv[0];
  const spec: CommandSpec | undefined = COMMANDS.find((c) => c.name === first);
  const verbose = argv.includes('--verbose');
  try {
    if (spec === undefined) {
      if (first === undefined || !first.startsWith('-')) {
        if (first !== undefined) {
          const close = closestNames(first, COMMANDS.map((c) => c.name), 1)[0];
          throw new UsageError(undefined, `unknown command '${first}'${close === undefined ? '' : ` (did you mean ${close}?)`}`);
        }
        io.stderr.write(toolHelp());
        return 2;
      }
      const parsed = parseFlags(undefined, TOOL_OPTIONS, argv);
      if (parsed.values.version === true) {
        io.stdout.write(`${VERSION}\n`);
        return 0;
      }
      if (parsed.values.help === true) {
        // `tl-kit --help train` reads as `tl-kit train --help`.
        const named = COMMANDS.find((c) => c.name === parsed.positionals[0]);
        if (parsed.positionals.length <= 1 && (named !== undefined || parsed.positionals.length === 0)) {
          io.stdout.write(named === undefined ? toolHelp() : commandHelp(named));
          return 0;
        }
      }
      throw new UsageError(undefined, `put the command first: tl-kit <command> [options], with <command> one of ${COMMANDS.map((c) => c.name).join(', ')}`);
    }
    const parsed = parseFlags(spec.name, spec.options, argv.slice(1));
    if (parsed.values.help === true) {
      io.stdout.write(commandHelp(spec));
      return 0;
    }
    return await (HANDLERS[spec.name] as (io: Io, parsed: ParsedArgs) => Promise<number>)(io, parsed);
  } catch (err) {
    if (err instanceof UsageError) {
      const name = err.command === undefined ? 'tl-kit' : `tl-kit ${err.command}`;
      io.stderr.write(`${name}: ${err.message}\nRun '${name} --help' for the options.\n`);
      return 2;
    }
    const name = spec === undefined ? 'tl-kit' : `tl-kit ${spec.name}`;
    io.stderr.write(verbose ? `${name} failed: ${errorDetails(err)}\n` : `${name} failed: ${errorLine(err)}\n(--verbose prints the stack trace)\n`);
    return 1;
  }
}
