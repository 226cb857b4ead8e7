import { describe, expect, it } from 'vitest';
import { explainEc2Error, isPropagationError } from '../src/ec2-errors.js';
import {
  AbortedError,
  AwsOperationError,
  PassRoleDeniedError,
  PropagationTimeoutError,
} from '../src/errors.js';
import { backoffDelay, retryWhilePropagating, type WaitEvent } from '../src/retry.js';

const awsError = (name: string, message: string) => Object.assign(new Error(message), { name });
const notVisible = () =>
  awsError(
    'InvalidParameterValue',
    'Value (web) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name',
  );

describe('Function: backoffDelay', () => {
  it('grows from about 200 ms to its cap, staying within 50-100% of each step', () => {
    // Prepare
    const steps = Array.from({ length: 10 }, (_, i) => i + 1);

    // Act
    const lows = steps.map((n) => backoffDelay(n, 200, 2000, () => 0));
    const highs = steps.map((n) => backoffDelay(n, 200, 2000, () => 0.999_999));

    // Assess
    expect(lows[0]).toBe(100);
    expect(Math.max(...lows)).toBe(1000);
    expect(highs[0]).toBe(200);
    expect(Math.max(...highs)).toBe(2000);
    for (let i = 1; i < steps.length; i++) expect(highs[i]).toBeGreaterThanOrEqual(highs[i - 1] as number);
  });
});

describe('Function: retryWhilePropagating', () => {
  it('retries a propagation error until it clears and reports each wait', async () => {
    // Prepare
    const events: WaitEvent[] = [];
    let calls = 0;

    // Act
    const value = await retryWhilePropagating(
      async () => {
        calls++;
        if (calls < 3) throw notVisible();
        return 'done';
      },
      {
        waitingFor: 'EC2 to see "web"',
        isRetryable: isPropagationError,
        onEvent: (e) => events.push(e),
        initialDelayMs: 10,
      },
    );

    // Assess
    expect(value).toBe('done');
    expect(calls).toBe(3);
    expect(events.map((e) => e.type)).toEqual(['waiting', 'waiting', 'settled']);
    expect(events[0]).toMatchObject({ waitingFor: 'EC2 to see "web"', attempt: 1 });
  });

  it('throws any other error at once, without retrying', async () => {
    // Prepare
    let calls = 0;
    const other = awsError('InvalidInstanceID.NotFound', "The instance ID 'i-00000000' does not exist");

    // Act
    const error = await retryWhilePropagating(
      async () => {
        calls++;
        throw other;
      },
      { waitingFor: 'x', isRetryable: isPropagationError, initialDelayMs: 10 },
    ).catch((e) => e);

    // Assess
    expect(error).toBe(other);
    expect(calls).toBe(1);
  });

  it('throws PropagationTimeoutError naming what it waited for once the deadline passes', async () => {
    // Prepare
    const started = Date.now();

    // Act
    const error = await retryWhilePropagating(
      async () => {
        throw notVisible();
      },
      {
        waitingFor: 'EC2 to see instance profile "web"',
        isRetryable: isPropagationError,
        deadlineMs: 300,
        initialDelayMs: 20,
        maxDelayMs: 50,
      },
    ).catch((e) => e);

    // Assess
    expect(error).toBeInstanceOf(PropagationTimeoutError);
    expect(error.waitedFor).toBe('EC2 to see instance profile "web"');
    expect(error.attempts).toBeGreaterThan(2);
    expect(error.message).toMatch(
      /waiting for EC2 to see instance profile "web"; last error: .*Invalid IAM Instance Profile name/,
    );
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('rejects with AbortedError when the signal aborts during a wait', async () => {
    // Prepare
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);

    // Act
    const error = await retryWhilePropagating(
      async () => {
        throw notVisible();
      },
      { waitingFor: 'x', isRetryable: isPropagationError, signal: controller.signal, initialDelayMs: 5_000 },
    ).catch((e) => e);

    // Assess
    expect(error).toBeInstanceOf(AbortedError);
  });
});

describe('Function: isPropagationError', () => {
  it('accepts exactly the two EC2 messages that mean the profile is not visible yet', () => {
    // Prepare
    const cases: [Error, boolean][] = [
      [notVisible(), true],
      [
        awsError(
          'InvalidParameterValue',
          'Value (arn:aws:iam::1:instance-profile/w) for parameter iamInstanceProfile.arn is invalid. Invalid IAM Instance Profile ARN',
        ),
        true,
      ],
      [awsError('InvalidParameterValue', 'IAM Instance Profile "web" has no associated IAM Roles'), true],
      [awsError('InvalidParameterValue', 'Value (x) for parameter instanceType is invalid.'), false],
      [awsError('RequestLimitExceeded', 'Request limit exceeded.'), false],
      [awsError('UnauthorizedOperation', 'Invalid IAM Instance Profile name'), false],
    ];

    // Act
    const results = cases.map(([err]) => isPropagationError(err));

    // Assess
    expect(results).toEqual(cases.map(([, expected]) => expected));
  });
});

describe('Function: explainEc2Error', () => {
  it('turns a denial that mentions iam:PassRole into PassRoleDeniedError naming the role ARN (constructed error: no local peer denies PassRole)', async () => {
    // Prepare
    const roleArn = 'arn:aws:iam::123456789012:role/web';
    const denied = awsError(
      'UnauthorizedOperation',
      `You are not authorized to perform this operation. User: arn:aws:iam::123456789012:user/dev is not authorized to perform: iam:PassRole on resource: ${roleArn}`,
    );

    // Act
    const error = await explainEc2Error(denied, { operation: 'AssociateIamInstanceProfile', roleArn });

    // Assess
    expect(error).toBeInstanceOf(PassRoleDeniedError);
    expect(error).toMatchObject({ code: 'PASS_ROLE_DENIED', roleArn, cause: denied });
    expect(error.message).toContain(`the caller needs iam:PassRole on ${roleArn}`);
  });

  it('keeps any other denial as an AwsOperationError naming the operation', async () => {
    // Prepare
    const denied = awsError('UnauthorizedOperation', 'You are not authorized to perform this operation.');

    // Act
    const error = await explainEc2Error(denied, { operation: 'AssociateIamInstanceProfile' });

    // Assess
    expect(error).toBeInstanceOf(AwsOperationError);
    expect(error.message).toMatch(/^AssociateIamInstanceProfile failed: UnauthorizedOperation/);
  });
});
