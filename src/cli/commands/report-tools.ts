import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Option, type Command } from 'commander';
import { MbError } from '../../errors.js';
import { readReport } from '../../report/read-report.js';
import { compareReports } from '../../report/compare.js';
import { renderCompareTable } from '../../report/compare-table.js';
import { DEFAULT_RULES } from '../../report/regression-rule.js';
import { mergeReports } from '../../report/merge.js';
import { regate } from '../../report/regate.js';
import { renderGateSummary } from '../../report/render-gate-summary.js';
import { renderMarkdown } from '../../report/render-md.js';
import { renderJunit } from '../../report/render-junit.js';
import { renderHtml } from '../../report/render-html.js';
import { summaryStatsOption } from '../summary-stats-option.js';
import { DEFAULT_SUMMARY_STATS, parseSummaryStats } from '../../metrics/summary-stats.js';
import { paletteFor } from '../colors.js';
import { COMPARE_EXIT_CODES_HELP, EXIT_CODES_HELP } from '../exit-codes.js';

/** Registers compare, merge, gate and report: they work on report files alone. */
export function register(program: Command): void {
  const collect = (v: string, prev: string[]) => [...prev, v];

  program
    .command('compare')
    .description('compare a head report with one or more base reports; exit 4 on a regression')
    .argument('[reports...]', 'BASE HEAD, or only HEAD when bases are given with --base')
    .option('--base <file>', 'a base report (repeat for a noise band: a head value inside the spread of the bases is never a regression)', collect, [])
    .option('--max-regression <rule>', "a rule such as 'chat.deliver.p99=+20%', '*.p99=+10ms' or 'rates.deliveryRatio=-0%' (repeatable)", collect, [])
    .option('--no-defaults', 'apply only --max-regression rules, not the default ones')
    .option('--all', 'show every counter, not only those that changed')
    .option('--json', 'print the comparison as JSON on stdout')
    .addHelpText(
      'after',
      `
Default rules (a change must exceed every condition of its rule):
${DEFAULT_RULES.map((r) => `  ${r}`).join('\n')}
  any finding class present in head but in none of the bases
A more specific --max-regression (an exact name over a wildcard) replaces the default for that metric.
With several --base reports each metric gets a band (mean, min–max): a rule applies from the band's edge.
Default latency rules skip a histogram with fewer than 20 samples in a base or the head,
and a percentile p with fewer than 1/(1-p) samples (100 for p99).`,
    )
    .addHelpText('after', COMPARE_EXIT_CODES_HELP)
    .action(async (files: string[], o: { base: string[]; maxRegression: string[]; defaults: boolean; all?: boolean; json?: boolean }) => {
      let baseFiles: string[];
      let headFile: string;
      if (o.base.length) {
        if (files.length !== 1) throw new MbError('MB_ERR_USAGE', 'compare --base A.json [--base B.json…] HEAD.json: give exactly one head report');
        baseFiles = o.base;
        headFile = files[0]!;
      } else {
        if (files.length !== 2) throw new MbError('MB_ERR_USAGE', 'compare BASE.json HEAD.json (or --base … HEAD.json): give a base and a head report');
        baseFiles = [files[0]!];
        headFile = files[1]!;
      }
      const bases = await Promise.all(baseFiles.map(readReport));
      const head = await readReport(headFile);
      const res = compareReports(bases, head, { maxRegression: o.maxRegression, defaults: o.defaults });
      process.stderr.write(renderCompareTable(res, { palette: paletteFor(process.stderr), baseCount: bases.length, all: o.all }));
      if (o.json) process.stdout.write(JSON.stringify({ base: baseFiles, head: headFile, ...res }, null, 2) + '\n');
      process.exitCode = res.exitCode;
    });

  program
    .command('merge')
    .description('merge reports of shards of one run or of repeated runs exactly (histograms, counters, findings, timelines)')
    .argument('<reports...>', 'report files')
    .requiredOption('--out <file>', 'where to write the merged report')
    .option('--force', 'merge reports of different scenarios')
    .option('--threshold <expr>', 'an extra gate judged on the merged result (repeatable)', collect, [])
    .option('--json', 'also print the merged report on stdout')
    .addHelpText(
      'after',
      `
Shards of one run (run --shard i/n, each index once): the duration is the run's wall time,
first start to last end. Repeated runs (whole runs, or merges of one run's shards): the
duration is the sum of their own durations. Rates are recomputed from the merged counters
over that duration. The same run twice (same runId), a shard index twice, or shards beside
whole runs are refused (exit 2): merge each run's shards first, then merge the runs.`,
    )
    .action(async (files: string[], o: { out: string; force?: boolean; threshold: string[]; json?: boolean }) => {
      const reports = await Promise.all(files.map(readReport));
      const merged = regate(mergeReports(reports, { force: o.force, names: files }), o.threshold);
      await writeOut(o.out, JSON.stringify(merged, null, 2) + '\n');
      process.stderr.write(
        `merged ${files.length} report${files.length === 1 ? '' : 's'}${merged.merge ? ` (${merged.merge.kind === 'shards' ? 'shards of one run' : 'repeated runs'})` : ''} into ${o.out}: ${merged.ledger.users} users, ` +
          `${merged.findings.length} finding${merged.findings.length === 1 ? '' : 's'}, status ${merged.status}\n`,
      );
      for (const n of merged.notes ?? []) process.stderr.write(`note: ${n}\n`);
      if (o.json) process.stdout.write(JSON.stringify(merged) + '\n');
    });

  program
    .command('gate')
    .description("judge a report (e.g. a merged one) against the scenario's thresholds and --threshold ones; exits like run")
    .argument('<report>', 'report file')
    .option('--threshold <expr>', "a gate such as 'chat.deliver.p99<250ms' or 'findings.total==0' (repeatable)", collect, [])
    .option('--json', 'print the gates and the verdict as JSON on stdout')
    .addHelpText('after', EXIT_CODES_HELP)
    .action(async (file: string, o: { threshold: string[]; json?: boolean }) => {
      const judged = regate(await readReport(file), o.threshold);
      process.stderr.write(renderGateSummary(judged, { palette: paletteFor(process.stderr) }));
      if (o.json) process.stdout.write(JSON.stringify({ report: file, verdict: judged.verdict, gates: judged.gates }, null, 2) + '\n');
      process.exitCode = judged.verdict.exitCode;
    });

  program
    .command('report')
    .description('render a report for people: Markdown (CI step summaries), JUnit XML, or one self-contained HTML file')
    .argument('<report>', 'report file')
    .addOption(new Option('--format <format>', 'output format').choices(['md', 'junit', 'html']).default('md'))
    .option('--out <file>', 'write to a file instead of stdout')
    .addOption(summaryStatsOption())
    .action(async (file: string, o: { format: 'md' | 'junit' | 'html'; out?: string; summaryStats?: string }) => {
      const stats = parseSummaryStats(o.summaryStats ?? DEFAULT_SUMMARY_STATS.join(','));
      const report = await readReport(file);
      const text = o.format === 'md' ? renderMarkdown(report, { stats }) : o.format === 'junit' ? renderJunit(report) : renderHtml(report, { stats });
      if (o.out) {
        await writeOut(o.out, text);
        process.stderr.write(`wrote ${o.out}\n`);
      } else process.stdout.write(text);
    });
}

async function writeOut(path: string, text: string): Promise<void> {
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, text);
  } catch (err) {
    throw new MbError('MB_ERR_USAGE', `cannot write ${path}: ${(err as Error).message}`, undefined, { cause: err });
  }
}
