import type { Check, Report, Severity } from './types.js';

const CODES = { red: 31, green: 32, yellow: 33, dim: 2, bold: 1 } as const;
type Paint = (color: keyof typeof CODES, text: string) => string;

/**
 * The human table of a report; colour only when `color` is true (a TTY).
 *
 * @example
 * process.stdout.write(formatReport(report, { color: process.stdout.isTTY === true }));
 */
export function formatReport(report: Report, options: { readonly color?: boolean } = {}): string {
  const paint: Paint = options.color ? (c, t) => `\u001b[${CODES[c]}m${t}\u001b[0m` : (_c, t) => t;
  const verdictColor = report.verdict === 'pass' ? 'green' : report.verdict === 'fail' ? 'red' : 'yellow';
  const lines = [
    `${paint('bold', 'instance-role-agent')}  verdict: ${paint(verdictColor, report.verdict.toUpperCase())}  (${report.durationMs} ms)`,
    `role:     ${report.role.name ?? '-'}  ${paint('dim', report.role.arn ?? '')}`,
    `profile:  ${report.role.instanceProfileArn ?? '-'}`,
    `instance: ${report.instance.id ?? '-'}  region ${report.instance.region ?? '-'}  account ${report.instance.accountId ?? '-'}`,
    `imds:     ${imdsLine(report)}`,
  ];
  if (report.checks.length > 0) lines.push('', ...table(report.checks, paint));
  if (report.findings.length > 0) {
    lines.push('', 'findings:');
    for (const f of report.findings)
      lines.push(`  ${paint(severityColor(f.severity), f.severity.padEnd(4))} ${f.code}: ${f.message}`);
  }
  return `${lines.join('\n')}\n`;
}

function imdsLine(report: Report): string {
  const i = report.imds;
  if (i.disabled) return 'disabled by AWS_EC2_METADATA_DISABLED';
  if (!i.reachable) return `unreachable at ${i.endpoint}`;
  return [
    `v2 ${i.v2 ? 'ok' : 'no token'}`,
    `v1 ${i.v1Open === null ? '?' : i.v1Open ? 'open' : 'closed'}`,
    i.endpoint,
  ].join(', ');
}

function table(checks: readonly Check[], paint: Paint): string[] {
  const rows = checks.map((c) => [
    c.ok ? 'ok' : 'FAIL',
    c.action,
    c.resource ?? '',
    c.expected,
    c.outcome,
    c.errorCode ?? '',
    `${c.durationMs} ms`,
  ]);
  const head = ['', 'action', 'resource', 'expected', 'outcome', 'code', 'time'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [
    paint('dim', line(head)),
    ...rows.map((r) => {
      const text = line(r);
      return r[0] === 'ok'
        ? text.replace(/^ok/, paint('green', 'ok'))
        : text.replace(/^FAIL/, paint('red', 'FAIL'));
    }),
  ];
}

function severityColor(s: Severity): keyof typeof CODES {
  return s === 'fail' ? 'red' : s === 'warn' ? 'yellow' : 'dim';
}
