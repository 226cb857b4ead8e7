// `pnpm bench`: every benchmark in order; each writes its own section of bench/RESULTS.md.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { isMain, RESULTS_FILE, writeSection } from './lib.mjs';

const BENCHES = [
  './01-ensure-attach.mjs',
  './02-verify-cold.mjs',
  './03-api-calls.mjs',
  './04-propagation.mjs',
  './05-agent-artefact.mjs',
  './06-fleet.mjs',
];

export async function runAll({ only = process.env.BENCH_ONLY } = {}) {
  const wanted = only ? BENCHES.filter((b) => only.split(',').some((o) => b.includes(o))) : BENCHES;
  if (!only) rmSync(RESULTS_FILE, { force: true });
  const started = Date.now();
  const statuses = {};
  for (const file of wanted) {
    const mod = await import(file);
    statuses[mod.ID] = await mod.run();
  }
  const notes = new URL('./NOTES.md', import.meta.url);
  if (existsSync(notes)) writeSection('98-notes', readFileSync(notes, 'utf8'));
  const total = ((Date.now() - started) / 1000).toFixed(0);
  writeSection(
    '99-summary',
    [
      only ? `## Last run: BENCH_ONLY=${only} (other sections are from earlier runs)` : '## Run summary',
      '',
      ...Object.entries(statuses).map(([id, s]) => `- ${id}: ${s}`),
      '',
      `Whole run: ${total} s.`,
    ].join('\n'),
  );
  process.stderr.write(`\nbench: ${JSON.stringify(statuses)} in ${total} s; see bench/RESULTS.md\n`);
  // A crashed benchmark fails the command; a missed goal or a skipped piece does not.
  if (Object.values(statuses).includes('failed')) process.exitCode = 1;
}

if (isMain(import.meta.url)) await runAll();
