// Bundle-only stand-in for @aws-sdk/credential-provider-node: every client gets the shared IMDS
// provider, so the SDK's default chain (and the SSO/STS clients it drags in) is never used.
export const defaultProvider = () => async () => {
  throw new Error('instance-role-agent takes credentials only from IMDS');
};
