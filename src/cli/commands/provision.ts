import { InvalidArgumentError, type Command } from 'commander';
import { EXIT, MbError } from '../../errors.js';
import { installInterrupts, interruptSignal } from '../interrupts.js';
import { provision } from '../../runner/provision.js';
import { loadScenario } from '../../scenario/load-scenario.js';
import { checkTargetUrl } from '../../runner/option-checks.js';

interface ProvisionFlags {
  target: string;
  users: number;
  out: string;
  scenario?: string;
  servers?: number;
  textChannels?: number;
  voiceChannels?: number;
  maxVoiceUsers?: number;
  concurrency: number;
  quiet?: boolean;
}

const int = (v: string): number => {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
};

/** `provision`: accounts and world on a deployment, once; progress on stderr, the users file for `run --users-file`. */
export function register(program: Command): void {
  program
    .command('provision')
    .description('create the accounts and the world (servers, channels, joins) on a deployment once, and write the file run --users-file reads; a re-run resumes')
    .requiredOption('--target <url>', 'the deployment (http://host:port)')
    .requiredOption('--users <n>', 'accounts to have', int)
    .requiredOption('--out <file>', 'the users file to write (an existing one from provision is resumed)')
    .option('--scenario <name>', "size the world from this scenario's setup (servers, text and voice channels, maxVoiceUsers)")
    .option('--servers <n>', 'servers (default 1, or the scenario setup)', int)
    .option('--text-channels <n>', 'text channels per server (default 3)', int)
    .option('--voice-channels <n>', 'voice channels per server (default 1)', int)
    .option('--max-voice-users <n>', 'max_users of the voice channels (default 10)', int)
    .option('--concurrency <n>', 'requests in flight at once (a real Miscord registers in 0.2 to 5 s, bcrypt in its event loop)', int, 8)
    .option('--quiet', 'no progress on stderr')
    .action(async (f: ProvisionFlags) => {
      installInterrupts();
      checkTargetUrl(f.target);
      const setup = f.scenario ? loadScenario(f.scenario).scenario.setup : undefined;
      let last = 0;
      const r = await provision({
        target: f.target,
        users: f.users,
        out: f.out,
        servers: f.servers ?? setup?.servers,
        textChannels: f.textChannels ?? setup?.textChannels,
        voiceChannels: f.voiceChannels ?? setup?.voiceChannels,
        maxVoiceUsers: f.maxVoiceUsers ?? setup?.maxVoiceUsers,
        concurrency: f.concurrency,
        signal: interruptSignal,
        onProgress: (p) => {
          if (f.quiet) return;
          const now = Date.now();
          if (p.step !== 'done' && now - last < 1000 && p.done < p.total) return;
          last = now;
          process.stderr.write(`provision: ${p.done}/${p.total} users${p.failed ? `, ${p.failed} failed` : ''}, ${p.perSec.toFixed(1)}/s\n`);
        },
      });
      const w = r.file.world;
      if (!f.quiet) process.stderr.write(`provision: ${r.created} created, ${r.existed} existed, ${r.failed.length} failed; world: ${w?.servers.length ?? 0} servers; wrote ${f.out}\n`);
      for (const x of r.failed.slice(0, 5)) process.stderr.write(`provision: ${x.username}: ${x.error}\n`);
      if (r.failed.length) {
        process.stderr.write(`provision: ${r.failed.length} accounts failed: run the same command again to resume\n`);
        process.exitCode = EXIT.incomplete;
      }
    });
}
