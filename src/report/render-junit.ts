import { FindingClassSchema, type Report } from './schema.js';
import { brief, subjectText } from './verdict-text.js';
import { gateJudged } from './gates.js';

/**
 * JUnit XML for CI test views: one suite of gates (a case per gate) and one suite of leak
 * checks (a case per finding class: failed with every finding of that class, or passed).
 * An incomplete run adds a failed `run completed` case, so it can never look green.
 */
export function renderJunit(r: Report): string {
  const time = (r.durationMs / 1000).toFixed(3);
  const name = `miscord-bench.${r.scenario.name}`;

  // a gate that could not be judged is skipped, with why: not a pass, and not a failure either
  const gateCases = r.gates.map((g) =>
    gateJudged(g)
      ? testcase(`${name}.gates`, g.name, g.passed ? null : { type: 'threshold', message: g.reason, body: `${g.name} (${g.source})\n${g.reason}` })
      : skippedCase(`${name}.gates`, g.name, `not judged: ${g.reason}`),
  );
  if (r.status === 'incomplete')
    gateCases.unshift(testcase(`${name}.gates`, 'run completed', { type: 'incomplete', message: r.abortReason ?? 'the run could not complete', body: r.abortReason ?? '' }));

  const leakCases = FindingClassSchema.options.map((cls) => {
    const fs = r.findings.filter((f) => f.class === cls);
    if (!fs.length) return testcase(`${name}.leaks`, cls, null);
    const body = fs
      .map((f) => `${f.id} ${subjectText(f)}: ${f.message}\n  expected ${brief(f.expected)}, observed ${brief(f.observed)} at ${f.checkpoint}`)
      .join('\n');
    return testcase(`${name}.leaks`, cls, { type: 'leak', message: `${fs.length} ${cls} finding${fs.length === 1 ? '' : 's'}: ${fs[0]!.message}`, body });
  });

  const suite = (suiteName: string, cases: string[]) => {
    const failures = cases.filter((c) => c.includes('<failure')).length;
    const skipped = cases.filter((c) => c.includes('<skipped')).length;
    return `  <testsuite name="${attr(suiteName)}" tests="${cases.length}" failures="${failures}" errors="0" skipped="${skipped}" time="${time}" timestamp="${attr(r.startedAt.replace(/Z$/, ''))}">\n${cases.join('\n')}\n  </testsuite>`;
  };
  const suites = [suite(`${name}.gates`, gateCases), suite(`${name}.leaks`, leakCases)];
  const total = gateCases.length + leakCases.length;
  const failures = suites.join('').split('<failure').length - 1;
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="${attr(name)}" tests="${total}" failures="${failures}" errors="0" time="${time}">\n${suites.join('\n')}\n</testsuites>\n`;
}

function testcase(classname: string, name: string, failure: { type: string; message: string; body: string } | null): string {
  const open = `    <testcase classname="${attr(classname)}" name="${attr(name)}" time="0"`;
  if (!failure) return `${open}/>`;
  return `${open}>\n      <failure type="${attr(failure.type)}" message="${attr(failure.message)}">${text(failure.body)}</failure>\n    </testcase>`;
}

function skippedCase(classname: string, name: string, message: string): string {
  return `    <testcase classname="${attr(classname)}" name="${attr(name)}" time="0">\n      <skipped message="${attr(message)}"/>\n    </testcase>`;
}

// XML 1.0 forbids most control characters even escaped; drop them
const INVALID_XML = /[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

function text(s: string): string {
  return s.replace(INVALID_XML, '').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function attr(s: string): string {
  return text(s).replace(/"/g, '&quot;').replace(/\n/g, '&#10;');
}
