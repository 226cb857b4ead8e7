// The one-file bundle imports the SDK statically: every default run needs all four clients anyway, and
// esbuild can only tree-shake modules that are not behind a dynamic import() (measured in README.md).
import * as dynamodb from './dynamodb.js';
import * as iam from './iam.js';
import * as imdsCredentials from './imds-credentials.js';
import * as s3 from './s3.js';
import * as sts from './sts.js';

export const loadSts = async () => sts;
export const loadS3 = async () => s3;
export const loadDynamodb = async () => dynamodb;
export const loadIam = async () => iam;
export const loadImdsCredentials = async () => imdsCredentials;
