import type { Command } from 'commander';
import { listScenarios } from '../../scenario/load-scenario.js';
import { planRunAsync } from '../../runner/run-plan.js';

/** `scenarios` lists the shipped scenarios; `validate <file>` checks one file (exit 2 when invalid). */
export function register(program: Command): void {
  program
    .command('scenarios')
    .description('list the shipped scenarios with their one-line description')
    .option('--json', 'print the list as JSON on stdout')
    .action((opts: { json?: boolean }) => {
      const list = listScenarios();
      if (opts.json) {
        process.stdout.write(JSON.stringify(list.map(({ name, description, error }) => ({ name, description, ...(error ? { error } : {}) })), null, 2) + '\n');
        return;
      }
      const width = Math.max(0, ...list.map((s) => s.name.length));
      for (const s of list) process.stdout.write(`${s.name.padEnd(width)}  ${s.error ? `INVALID: ${s.error}` : s.description}\n`);
    });

  program
    .command('validate')
    .description("check a scenario file (or shipped name) as run would: the schema, its gates, its phases' needs")
    .argument('<file>', 'scenario file or shipped scenario name')
    .action(async (file: string) => {
      // the run's own plan: whatever run refuses before it starts, validate refuses with the same line
      const { loaded, scenario, thresholds } = await planRunAsync({ scenario: file });
      process.stderr.write(`${loaded.display}: valid (${scenario.phases.length} phases, ${scenario.users} users, ${thresholds.length} gates, seed ${scenario.seed})\n`);
    });
}
