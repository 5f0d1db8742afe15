import { Command, CommanderError } from 'commander';
import { isMbError, EXIT } from '../errors.js';
import { TOOL_VERSION } from '../version.js';
import { COMMAND_EXIT_CODES_HELP, EXIT_CODES_HELP } from './exit-codes.js';
import { installInterrupts } from './interrupts.js';

type Register = (program: Command) => void;

/**
 * Command modules by the commands they register, loaded only when needed: the engine, the
 * reference server and zod cost hundreds of ms to import, which `trace`, `compare` or the
 * bundled server's own `serve` (started for every run) should not pay for each other.
 */
const MODULES: ReadonlyArray<{ commands: readonly string[]; load: () => Promise<{ register: Register }> }> = [
  { commands: ['serve'], load: () => import('./commands/serve.js') },
  { commands: ['run'], load: () => import('./commands/run.js') },
  { commands: ['scenarios', 'validate'], load: () => import('./commands/scenarios.js') },
  { commands: ['compare', 'merge', 'gate', 'report'], load: () => import('./commands/report-tools.js') },
  { commands: ['trace'], load: () => import('./commands/trace.js') },
  { commands: ['provision'], load: () => import('./commands/provision.js') },
];

/** The command argv names (its first operand), or null for the top level (help, version, a typo). */
function commandOf(argv: readonly string[]): string | null {
  const first = argv.slice(2).find((a) => !a.startsWith('-'));
  if (first === 'help') return argv.slice(2).find((a, i, all) => i > all.indexOf('help') && !a.startsWith('-')) ?? null;
  return first ?? null;
}

/**
 * The CLI: wires commander to the programmatic API. The only place that sets
 * process.exitCode or prints errors for people. With `argv`, only the module of the command
 * it names is loaded (every one for the top-level help or an unknown command).
 */
export async function buildProgram(argv?: readonly string[]): Promise<Command> {
  const program = new Command('miscord-bench')
    .description('Load-test and leak-check a Miscord WebSocket/WebRTC backend')
    .version(TOOL_VERSION)
    .addHelpText('after', EXIT_CODES_HELP)
    // commander's own errors are printed by start(), in the bench's format; help goes out as usual
    .configureOutput({ outputError: () => {} })
    .exitOverride();
  const name = argv ? commandOf(argv) : null;
  const one = MODULES.find((m) => name !== null && m.commands.includes(name));
  const mods = await Promise.all((one ? [one] : MODULES).map((m) => m.load()));
  for (const m of mods) m.register(program);
  for (const cmd of program.commands) {
    const help = COMMAND_EXIT_CODES_HELP[cmd.name()];
    if (help) cmd.addHelpText('after', help);
  }
  return program;
}

/** Commander's `error: unknown option '--x'` in the bench's own format, on one line. */
export function commanderLine(err: CommanderError): string {
  const msg = err.message.replace(/^error:\s*/i, '').replace(/\s*\n\s*/g, ' ').trim();
  return `miscord-bench: ${msg}; see --help (MB_ERR_USAGE)`;
}

export async function start(argv = process.argv): Promise<void> {
  // `miscord-bench --help | head`: a reader that went away is no error of ours
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  });
  // a run catches SIGINT and SIGTERM from here on, while its modules still load
  if (commandOf(argv) === 'run') installInterrupts();
  const program = await buildProgram(argv);
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version exit 0; help shown for a missing command exits 2 without a line of ours
      if (err.exitCode !== 0 && err.code !== 'commander.help' && err.code !== 'commander.helpDisplayed') process.stderr.write(`${commanderLine(err)}\n`);
      process.exitCode = err.exitCode === 0 ? 0 : EXIT.usage;
      return;
    }
    if (isMbError(err)) {
      process.stderr.write(`miscord-bench: ${err.message} (${err.code})\n`);
      process.exitCode = err.exitCode;
      return;
    }
    process.stderr.write(`miscord-bench: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exitCode = EXIT.internal;
  }
}

// A process that ever created a wrtc RTCAudioSource crashes (SIGSEGV) on a normal exit:
// exit explicitly, with the intended code, once the event loop is empty.
process.once('beforeExit', () => process.exit(process.exitCode ?? 0));

await start();
