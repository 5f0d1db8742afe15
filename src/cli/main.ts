import { Command, CommanderError } from 'commander';
import { isMbError, EXIT } from '../errors.js';
import { TOOL_VERSION } from '../version.js';
import { EXIT_CODES_HELP } from './exit-codes.js';
import { register as registerServe } from './commands/serve.js';
import { register as registerRun } from './commands/run.js';
import { register as registerScenarios } from './commands/scenarios.js';
import { register as registerReportTools } from './commands/report-tools.js';
import { register as registerTrace } from './commands/trace.js';

/**
 * The CLI: wires commander to the programmatic API. The only place that sets
 * process.exitCode or prints errors for people.
 */
export function buildProgram(): Command {
  const program = new Command('miscord-bench')
    .description('Load-test and leak-check a Miscord WebSocket/WebRTC backend')
    .version(TOOL_VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', EXIT_CODES_HELP)
    .exitOverride();
  registerServe(program);
  registerRun(program);
  registerScenarios(program);
  registerReportTools(program);
  registerTrace(program);
  return program;
}

export async function start(argv = process.argv): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version exit 0; every usage mistake is exit 2 (commander printed the line)
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
