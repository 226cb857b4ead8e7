/**
 * What the proxy does instead of (or before) forwarding a call. `drop-after` forwards the call, then
 * drops the connection instead of passing the answer on: the write happened, the client saw an error.
 *
 * @example
 * const kind: FaultKind = 'throttle';
 */
export type FaultKind = 'throttle' | 'http500' | 'http503' | 'drop' | 'drop-after' | 'latency';

/**
 * When to inject a fault. A rule matches a call by `service` and `action` (both optional);
 * among matching calls it fires on the `nth` ones (1-based) and/or with chance `rate`.
 * With both, both must hold; with neither, it fires on every matching call.
 *
 * @example
 * const rules: FaultRule[] = [
 *   { kind: 'throttle', service: 'ec2', action: 'AssociateIamInstanceProfile', nth: [1, 2] },
 *   { kind: 'drop', rate: 0.2 },
 *   { kind: 'latency', service: 'iam', latencyMs: 250 },
 * ];
 */
export interface FaultRule {
  readonly kind: FaultKind;
  /** Signing name from the SigV4 scope: 'iam' | 'ec2' | 'sts' | 's3' | 'dynamodb' | 'ssm'. @default any */
  readonly service?: string;
  /** API action, e.g. 'AssociateIamInstanceProfile'. @default any */
  readonly action?: string | RegExp;
  /** 0..1, chance per matching call, from the proxy's seeded PRNG. @default 1 */
  readonly rate?: number;
  /** 1-based indexes among the calls this rule matches. @default every call */
  readonly nth?: readonly number[];
  /** Delay before forwarding, for 'latency'. @default 1000 */
  readonly latencyMs?: number;
}

/** A deterministic PRNG (mulberry32): the same seed gives the same fault pattern. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Rules plus their per-rule match counters; the first rule that fires wins. */
export class FaultPlan {
  private counters: number[];

  constructor(
    private rules: readonly FaultRule[],
    private readonly random: () => number,
  ) {
    this.counters = rules.map(() => 0);
  }

  replace(rules: readonly FaultRule[]): void {
    this.rules = rules;
    this.counters = rules.map(() => 0);
  }

  /** The rule that fires for this call, if any. Every matching rule counts the call. */
  pick(service: string, action: string): FaultRule | undefined {
    let fired: FaultRule | undefined;
    this.rules.forEach((rule, i) => {
      if (!matches(rule, service, action)) return;
      this.counters[i] = (this.counters[i] ?? 0) + 1;
      if (fired) return;
      const byIndex = rule.nth === undefined || rule.nth.includes(this.counters[i] ?? 0);
      const byChance = rule.rate === undefined || this.random() < rule.rate;
      if (byIndex && byChance) fired = rule;
    });
    return fired;
  }
}

function matches(rule: FaultRule, service: string, action: string): boolean {
  if (rule.service !== undefined && rule.service !== service) return false;
  if (rule.action === undefined) return true;
  if (typeof rule.action === 'string') return rule.action === action;
  rule.action.lastIndex = 0;
  return rule.action.test(action);
}
