import type { Command } from 'commander';
import { MbError } from '../../errors.js';
import { formatTraceLine } from '../../trace/format-event.js';
import { traceStory } from '../../trace/trace-story.js';

interface TraceOptions {
  user?: string;
  socket?: string;
  peer?: string;
  ev?: string[];
  finding?: string;
  report?: string;
  json?: boolean;
  context?: boolean;
}

function parseUser(v: string): number {
  const m = /^u?(\d+)$/.exec(v.trim());
  if (!m) throw new MbError('MB_ERR_USAGE', `--user expects a simulated user index such as 3 or u3, got "${v}"`);
  return Number(m[1]);
}

/** Buffered stdout that waits for `drain` and stops quietly when the reader goes away (`| head`). */
function stdoutSink() {
  let buf: string[] = [];
  let size = 0;
  let gone = false;
  const onError = (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') gone = true;
  };
  process.stdout.on('error', onError);
  const flush = async () => {
    if (gone || buf.length === 0) return;
    const chunk = buf.join('');
    buf = [];
    size = 0;
    if (!process.stdout.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          process.stdout.off('drain', done);
          process.stdout.off('close', done);
          resolve();
        };
        process.stdout.once('drain', done);
        process.stdout.once('close', done);
      });
    }
  };
  return {
    get gone() {
      return gone;
    },
    async line(s: string) {
      buf.push(s + '\n');
      size += s.length + 1;
      if (size >= 64 * 1024) await flush();
    },
    async close() {
      await flush();
      process.stdout.off('error', onError);
    },
  };
}

export async function traceCommand(file: string, opts: TraceOptions): Promise<void> {
  if ((opts.finding === undefined) !== (opts.report === undefined)) {
    throw new MbError('MB_ERR_USAGE', '--finding ID and --report FILE go together');
  }
  const { summary, lines } = await traceStory(file, {
    user: opts.user === undefined ? undefined : parseUser(opts.user),
    socket: opts.socket,
    peer: opts.peer,
    ev: opts.ev?.flatMap((e) => e.split(',')).map((e) => e.trim().replace(/\.\*$/, '')).filter(Boolean),
    finding: opts.finding === undefined ? undefined : { id: opts.finding, report: opts.report! },
    context: opts.context,
  });
  const f = summary.finding;
  if (f) process.stderr.write(`${f.id} ${f.class ?? ''}: ${f.message ?? ''}\n`);
  if (summary.sameRunNote) process.stderr.write(`note: ${summary.sameRunNote}\n`);

  const out = stdoutSink();
  try {
    for await (const { text, line, subject } of lines) {
      // with a finding's context, the subject's own lines are marked '>'
      await out.line(opts.json ? text : summary.marked ? `${subject ? '>' : ' '}${formatTraceLine(line)}` : formatTraceLine(line));
      if (out.gone) break;
    }
  } finally {
    await lines.return(undefined);
    await out.close();
  }
  if (out.gone) return;
  // what a reader must know to trust the story: events missing from it
  if (summary.dropped > 0) process.stderr.write(`note: ${summary.dropped} events were dropped while the disk could not keep up (trace.dropped lines)\n`);
  if (!summary.ended) process.stderr.write('note: the trace has no trace.end line: the run was cut short or is still going\n');
  if (summary.shown === 0 && !opts.json) process.stderr.write('no event of the trace matched\n');
}

/** `miscord-bench trace FILE`: the story of one user, socket, peer or finding, from a trace. */
export function register(program: Command): void {
  program
    .command('trace')
    .description('Filter a trace written by `run --trace FILE` for a person: one readable line per event')
    .argument('<file>', 'NDJSON trace file')
    .option('--user <U>', 'only this simulated user (index, e.g. 3 or u3)')
    .option('--socket <S>', 'only this socket (ledger id, e.g. u3-chat-2)')
    .option('--peer <P>', 'only this peer connection (e.g. u3->#5: bench user 3 to server user id 5)')
    .option('--ev <NAME>', 'only these events (repeatable or comma-separated; "webrtc" matches every webrtc.* event)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--finding <ID>', "only the subject of this finding of --report (its user and socket or peer)")
    .option('--report <R>', 'the JSON report that holds --finding')
    .option('--no-context', "with --finding: only the subject's events, without the lifecycle of the user's other sockets or peers of the same kind")
    .option('--json', 'print the matching NDJSON lines as written, not readable lines')
    .addHelpText(
      'after',
      `
Each line: seconds since the run started, user, socket or peer, event, its fields.
With --finding, the subject's lines start with '>' and the other lines are the lifecycle of the
user's other sockets or peers of the same kind (opens, closes, switches, joins): where a leak
often starts, e.g. the first tab's close that removed the second tab's entry.
The trace must be of the finding's run: a run writes its id in the trace's first line and in
its report (runId); a merged report's finding s1/F3 needs the trace of part s1. Another run's
trace is refused (exit 2) rather than telling an unrelated user's story.
Exit codes: 0 done, 2 missing or unreadable trace (the bad line is named), unknown finding,
a trace of another run, bad flag.`,
    )
    .action(async (file: string, opts: TraceOptions) => {
      await traceCommand(file, opts);
    });
}
