import { InstanceRoleError, redactSecrets, ValidationError } from '../errors.js';
import { type CommandModule, EXIT } from './shared.js';

/** Each command lives in its own file and is loaded only when used. */
const COMMANDS: Record<string, { summary: string; load: () => Promise<CommandModule> }> = {
  ensure: {
    summary: 'create or converge an instance role and its profile',
    load: () => import('./ensure.js'),
  },
  presets: { summary: 'list the policy presets', load: () => import('./presets.js') },
  attach: { summary: 'attach an instance profile to a running instance', load: () => import('./attach.js') },
  launch: {
    summary: 'launch an instance with a role and IMDSv2 required',
    load: () => import('./launch.js'),
  },
  verify: {
    summary: 'verify a role on an instance over SSH or across a fleet (SSM)',
    load: () => import('./verify.js'),
  },
};

export function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `Usage: instance-role <command> [options]\n\nCommands:\n${lines.join('\n')}\n\nRun 'instance-role <command> --help' for a command's options.`;
}

export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') {
    process.stdout.write(`${usage()}\n`);
    return name ? EXIT.ok : EXIT.usage;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`instance-role: unknown command '${name}'\n\n${usage()}\n`);
    return EXIT.usage;
  }
  const mod = await command.load();
  return mod.run(rest);
}

/** Map any error to an exit code and a message with no stack trace and no secrets. */
export function reportError(err: unknown): number {
  if (err instanceof ValidationError) {
    process.stderr.write(`instance-role: ${err.message}\nNothing was written.\n`);
    return EXIT.usage;
  }
  const message = err instanceof Error ? err.message : String(err);
  const code = err instanceof InstanceRoleError ? ` [${err.code}]` : '';
  process.stderr.write(`instance-role: error${code}: ${redactSecrets(message)}\n`);
  return EXIT.failed;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.exitCode = reportError(err);
  },
);
