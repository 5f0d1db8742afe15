import { InvalidArgumentError, Option, type Command } from 'commander';
import { LOG_LEVELS } from '../../log.js';
import { createReferenceServer, type ReferenceServerOptions } from '../../server/index.js';
import { FAULT_NAMES, ANNOUNCED_EVENTS, faultsHelp, isFaultName } from '../../server/faults.js';
import { COMPAT_MODES, isSocketKind, type CompatMode } from '../../server/compat.js';
import { SERVE_OPTIONS as O } from '../../server/options.js';
import { SOCKET_KINDS, type SocketKind } from '../../protocol/messages.js';

function intArg({ min, max = Number.MAX_SAFE_INTEGER }: { min: number; max?: number }) {
  return (v: string): number => {
    if (!/^\d+$/.test(v.trim())) throw new InvalidArgumentError(`expected an integer between ${min} and ${max}`);
    const n = Number(v);
    if (n < min || n > max) throw new InvalidArgumentError(`expected an integer between ${min} and ${max}`);
    return n;
  };
}

function collectFault(v: string, prev: string[] = []): string[] {
  if (!isFaultName(v)) {
    throw new InvalidArgumentError(`unknown fault (known: ${FAULT_NAMES.join(', ')})`);
  }
  return [...prev, v];
}

function collectKind(v: string, prev: SocketKind[] = []): SocketKind[] {
  if (!isSocketKind(v)) throw new InvalidArgumentError(`unknown socket kind (known: ${SOCKET_KINDS.join(', ')})`);
  return [...prev, v];
}

/** The parsed flags: the server's own options under their own names, plus the CLI's. */
type ServeFlags = Pick<ReferenceServerOptions, 'host' | 'port' | 'heartbeatMs' | 'missedPongs' | 'maxPerUser' | 'maxTotal' | 'faultDelayMs' | 'faultEvent' | 'faultPoolSize' | 'faultPoolStallMs' | 'logLevel' | 'jwtSecret' | 'messageFormat' | 'maxSendQueueBytes' | 'closeTimeoutMs'
  | 'maxUsers' | 'maxServers' | 'maxServersPerUser' | 'maxChannelsPerServer' | 'maxMembersPerServer' | 'maxHistoryBytes'> & {
  fault?: string[];
  compat?: CompatMode;
  refuse?: SocketKind[];
  exitWithStdin?: boolean;
};

/** `miscord-bench serve`: the bundled reference server in the foreground. */
export function register(program: Command): void {
  program
    .command('serve')
    .description('Run the bundled reference Miscord server (prints "listening http://HOST:PORT" on stdout when ready)')
    .option('--host <host>', 'interface to bind', O.host.default)
    .option('--port <port>', 'port (0 = any free port)', intArg(O.port), 8080)
    .option('--heartbeat-ms <ms>', 'protocol ping frame interval on every socket', intArg(O.heartbeatMs), O.heartbeatMs.default)
    .option('--missed-pongs <n>', 'missed pongs in a row before a socket is reaped', intArg(O.missedPongs), O.missedPongs.default)
    .option('--max-per-user <n>', 'sockets per user, all kinds (close 4008 beyond)', intArg(O.maxPerUser), O.maxPerUser.default)
    .option('--max-total <n>', 'sockets in all (close 1013 beyond); handshakes in flight and refused sockets still closing count too (503 on the upgrade beyond)', intArg(O.maxTotal), O.maxTotal.default)
    .option('--max-send-queue-bytes <n>', 'bytes a socket may have queued unsent (it does not read); beyond, it is closed with 1008 and counted in slow_consumers_dropped', intArg(O.maxSendQueueBytes), O.maxSendQueueBytes.default)
    .option('--close-timeout-ms <ms>', "wait for a peer to finish a close the server started (close frame, or FIN after a raw HTTP answer), then destroy the socket", intArg(O.closeTimeoutMs), O.closeTimeoutMs.default)
    .option('--max-users <n>', 'registered users in all (register answers 400 beyond)', intArg(O.maxUsers), O.maxUsers.default)
    .option('--max-servers <n>', 'servers in all (create answers 403 beyond)', intArg(O.maxServers), O.maxServers.default)
    .option('--max-servers-per-user <n>', 'servers a user belongs to, owned and joined (create 403, join 400 beyond)', intArg(O.maxServersPerUser), O.maxServersPerUser.default)
    .option('--max-channels-per-server <n>', 'text and voice channels of a server, general and General included (403 beyond)', intArg(O.maxChannelsPerServer), O.maxChannelsPerServer.default)
    .option('--max-members-per-server <n>', 'members of a server, its owner included (join answers 400 beyond)', intArg(O.maxMembersPerServer), O.maxMembersPerServer.default)
    .option('--max-history-bytes <n>', 'chat history kept in all, estimated (2 bytes per UTF-16 unit + 96 per message); oldest dropped first', intArg(O.maxHistoryBytes), O.maxHistoryBytes.default)
    .option('--fault <name>', 'inject a named fault (repeatable; see below)', collectFault)
    .option('--fault-delay-ms <ms>', `lag of the slow-deregister fault, rejoin window of the spurious-leave fault (default ${O.faultDelayMs.default})`, intArg(O.faultDelayMs))
    .addOption(new Option('--fault-event <type>', 'the event the drop-announcement fault never announces (default user_muted)').choices(ANNOUNCED_EVENTS))
    .option('--fault-pool-size <n>', `pooled connections of the pooled-resource fault (default ${O.faultPoolSize.default})`, intArg(O.faultPoolSize))
    .option('--fault-pool-stall-ms <ms>', `wait for a free pooled connection before the pooled-resource fault fails (default ${O.faultPoolStallMs.default})`, intArg(O.faultPoolStallMs))
    .addOption(new Option('--log-level <level>', 'stderr log level').choices(LOG_LEVELS).default('silent'))
    .option('--jwt-secret <secret>', 'HS256 secret (random per start unless given)')
    .addOption(
      new Option('--compat <mode>', 'look like a plain Miscord: v1 stats only, 403 refusals on the upgrade, no switch_channel, no ping frames, new_message chat').choices(COMPAT_MODES),
    )
    .option('--refuse <kind>', 'answer 403 to every upgrade of this endpoint: chat, voice or notifications (repeatable; a deployment lacking it)', collectKind)
    .addOption(new Option('--message-format <format>', 'chat delivery shape (default: message; new_message with --compat v1)').choices(['message', 'new_message']))
    .option('--exit-with-stdin', 'also close and exit when stdin ends (a parent that starts it over a pipe cannot leave it behind, even if killed)')
    .addHelpText('after', `\nFaults (each off by default):\n${faultsHelp()}\n`)
    .action(async (flags: ServeFlags) => {
      const { fault, compat, refuse, exitWithStdin, ...options } = flags;
      const server = await createReferenceServer({ ...options, faults: fault ?? [], compat: compat ?? null, refuse: refuse ?? [] });
      process.stdout.write(`listening ${server.url}\n`);
      const signal = await new Promise<string>((resolve) => {
        const on = (s: string) => {
          process.off('SIGINT', on);
          process.off('SIGTERM', on);
          if (exitWithStdin) process.stdin.off('end', onEnd).off('error', onEnd).pause();
          resolve(s);
        };
        const onEnd = () => on('stdin closed');
        process.on('SIGINT', on);
        process.on('SIGTERM', on);
        if (exitWithStdin) process.stdin.on('end', onEnd).on('error', onEnd).resume();
      });
      process.stderr.write(`miscord-bench serve: ${signal}, closing\n`);
      await server.close();
    });
}
