import type { IncomingHttpHeaders } from 'node:http';

/** What the proxy knows about one AWS request. */
export interface AwsRequestInfo {
  /** Signing name from the SigV4 credential scope, e.g. `iam`, `ec2`, `s3`; `unknown` when unsigned. */
  readonly service: string;
  /** API action, e.g. `CreateRole`; `unknown` when it cannot be told. */
  readonly action: string;
  /** Form parameters of a query-protocol request (IAM, EC2, STS); empty otherwise. */
  readonly params: URLSearchParams;
}

const SCOPE = /Credential=[^/,\s]+\/\d{8}\/[^/]+\/([^/]+)\/aws4_request/;
const QUERY_SCOPE = /^[^/]+\/\d{8}\/[^/]+\/([^/]+)\/aws4_request$/;

/** Whether the body must be read before the action is known (query protocol). */
export function isFormRequest(headers: IncomingHttpHeaders): boolean {
  return (headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');
}

/** Tell service and action from the signature scope, the form body, `X-Amz-Target` or the S3 REST shape. */
export function identify(
  method: string,
  rawUrl: string,
  headers: IncomingHttpHeaders,
  formBody?: string,
): AwsRequestInfo {
  const url = new URL(rawUrl, 'http://proxy.invalid');
  const service = serviceOf(headers, url);
  const params = new URLSearchParams(formBody ?? '');
  const action =
    params.get('Action') ??
    url.searchParams.get('Action') ??
    targetAction(headers['x-amz-target']) ??
    (service === 's3' ? s3Action(method, url) : undefined) ??
    'unknown';
  return { service, action, params };
}

function serviceOf(headers: IncomingHttpHeaders, url: URL): string {
  const fromHeader = SCOPE.exec(headers.authorization ?? '')?.[1];
  const fromQuery = QUERY_SCOPE.exec(url.searchParams.get('X-Amz-Credential') ?? '')?.[1];
  return fromHeader ?? fromQuery ?? 'unknown';
}

function targetAction(target: string | string[] | undefined): string | undefined {
  if (typeof target !== 'string' || target === '') return undefined;
  return target.slice(target.lastIndexOf('.') + 1);
}

/** S3 REST: SDK v3 names most operations in `x-id`; the rest follow from method, path and sub-resource. */
function s3Action(method: string, url: URL): string {
  const xid = url.searchParams.get('x-id');
  if (xid) return xid;
  const segments = url.pathname.split('/').filter(Boolean);
  const q = url.searchParams;
  const onBucket = segments.length === 1;
  if (segments.length === 0) return method === 'GET' ? 'ListBuckets' : `${method}Service`;
  if (onBucket) {
    if (method === 'GET') {
      if (q.get('list-type') === '2') return 'ListObjectsV2';
      if (q.has('versions')) return 'ListObjectVersions';
      if (q.has('uploads')) return 'ListMultipartUploads';
      if (q.has('location')) return 'GetBucketLocation';
      if (q.has('policy')) return 'GetBucketPolicy';
      if (q.has('tagging')) return 'GetBucketTagging';
      if (q.has('acl')) return 'GetBucketAcl';
      return 'ListObjects';
    }
    if (method === 'HEAD') return 'HeadBucket';
    if (method === 'PUT')
      return q.has('policy') ? 'PutBucketPolicy' : q.has('tagging') ? 'PutBucketTagging' : 'CreateBucket';
    if (method === 'DELETE') return q.has('policy') ? 'DeleteBucketPolicy' : 'DeleteBucket';
    if (method === 'POST' && q.has('delete')) return 'DeleteObjects';
    return `${method}Bucket`;
  }
  if (method === 'GET') return 'GetObject';
  if (method === 'HEAD') return 'HeadObject';
  if (method === 'PUT') return q.has('partNumber') ? 'UploadPart' : 'PutObject';
  if (method === 'DELETE') return q.has('uploadId') ? 'AbortMultipartUpload' : 'DeleteObject';
  if (method === 'POST') return q.has('uploads') ? 'CreateMultipartUpload' : 'CompleteMultipartUpload';
  return `${method}Object`;
}
