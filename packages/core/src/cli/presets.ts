import { parseArgs } from 'node:util';
import { PRESETS, type PresetDefinition } from '../presets.js';
import { type CliIo, processIo } from './progress.js';
import { EXIT } from './shared.js';

const USAGE = `Usage: instance-role presets [--json]

List the policy presets for 'instance-role ensure --preset'.
`;

/** `instance-role presets`: the preset table, or JSON with --json. */
export async function run(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  let values: { json?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    }));
  } catch (err) {
    io.stderr.write(`instance-role: ${(err as Error).message}\n\n${USAGE}`);
    return EXIT.usage;
  }
  if (values.help) io.stdout.write(USAGE);
  else io.stdout.write(values.json ? `${JSON.stringify(PRESETS, null, 2)}\n` : `${formatPresets(PRESETS)}\n`);
  return EXIT.ok;
}

/**
 * The presets as an aligned table.
 *
 * @example
 * formatPresets(PRESETS).split('\n')[0]; // 'PRESET  KIND  SUMMARY'
 */
export function formatPresets(presets: readonly PresetDefinition[]): string {
  const rows = presets.map((p) => [p.parameter ? `${p.name}:${p.parameter}` : p.name, p.kind, p.summary]);
  const all = [['PRESET', 'KIND', 'SUMMARY'], ...rows];
  const widths = [0, 1].map((i) => Math.max(...all.map((r) => r[i]!.length)));
  return all.map((r) => `${r[0]!.padEnd(widths[0]!)}  ${r[1]!.padEnd(widths[1]!)}  ${r[2]}`).join('\n');
}
