import { Option } from 'commander';
import { DEFAULT_SUMMARY_STATS, SUMMARY_STATS } from '../metrics/summary-stats.js';

/** `--summary-stats`, shared by `run` (the terminal summary) and `report` (Markdown, HTML). */
export function summaryStatsOption(): Option {
  return new Option('--summary-stats <list>', `latency statistics in the summary, comma-separated, of ${Object.keys(SUMMARY_STATS).join(', ')} (default: ${DEFAULT_SUMMARY_STATS.join(',')})`);
}
