import { hopLimitProblems, instanceIdProblems } from '../ec2-ids.js';
import type { Problem } from '../errors.js';

// The attach options' parsing and checks, apart from cli/attach.ts so that `ensure` without
// `--instance` never loads the EC2 client.

/** A `--hop-limit` value as a number (validated later, with every other problem). */
export function parseHopLimit(text: string | undefined): number | undefined {
  return text === undefined ? undefined : Number(text);
}

/** The options `instance-role ensure` takes to attach the role as well. */
export const ATTACH_OPTIONS = {
  instance: { type: 'string', multiple: true },
  replace: { type: 'boolean' },
  'hop-limit': { type: 'string' },
} as const;

export interface AttachArgs {
  readonly instance?: readonly string[];
  readonly replace?: boolean;
  readonly 'hop-limit'?: string;
  readonly json?: boolean;
}

/** Problems with the attach options of `ensure`, to list with the spec's. */
export function attachArgProblems(values: AttachArgs): Problem[] {
  return [
    ...(values.instance ?? []).flatMap((id, i) => instanceIdProblems(id, `--instance[${i}]`)),
    ...hopLimitProblems(parseHopLimit(values['hop-limit']), '--hop-limit'),
  ];
}
