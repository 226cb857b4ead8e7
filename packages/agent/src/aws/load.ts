/**
 * SDK modules, loaded on first use by dynamic import() (the library keeps these lazy, so importing
 * @instance-role/agent costs nothing until verify() runs). The one-file bundle swaps this file for
 * load-static.ts.
 */
export const loadSts = (): Promise<typeof import('./sts.js')> => import('@aws-sdk/client-sts');
export const loadS3 = (): Promise<typeof import('./s3.js')> => import('@aws-sdk/client-s3');
export const loadDynamodb = (): Promise<typeof import('./dynamodb.js')> => import('@aws-sdk/client-dynamodb');
export const loadIam = (): Promise<typeof import('./iam.js')> => import('@aws-sdk/client-iam');
export const loadImdsCredentials = (): Promise<typeof import('./imds-credentials.js')> =>
  import('@smithy/credential-provider-imds');
