// Preload (`node --import`) that times a run (agent or CLI) by phase without changing it:
// HTTP requests are seen through Node's diagnostics channels (undici for fetch, http for the SDK),
// and the phase marks are written to BENCH_TIMING_FILE when the process exits.
import dc from 'node:diagnostics_channel';
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

const preloadStart = performance.now();
const imdsHost = process.env.AWS_EC2_METADATA_SERVICE_ENDPOINT
  ? new URL(process.env.AWS_EC2_METADATA_SERVICE_ENDPOINT).host
  : '169.254.169.254';
const events = [];
const mark = (kind, host) =>
  events.push({ kind, target: host === imdsHost ? 'imds' : 'aws', t: performance.now() });

dc.subscribe('undici:request:create', ({ request }) => mark('start', new URL(request.origin).host));
dc.subscribe('undici:request:headers', ({ request }) => mark('end', new URL(request.origin).host));
dc.subscribe('http.client.request.start', ({ request }) =>
  mark('start', request.getHeader('host') ?? request.host),
);
dc.subscribe('http.client.response.finish', ({ request }) =>
  mark('end', request.getHeader('host') ?? request.host),
);
const preloadEnd = performance.now();

process.on('exit', () => {
  const exit = performance.now();
  const of = (target, kind) => events.filter((e) => e.target === target && e.kind === kind).map((e) => e.t);
  const first = (xs) => (xs.length ? Math.min(...xs) : Number.NaN);
  const last = (xs) => (xs.length ? Math.max(...xs) : Number.NaN);
  const out = {
    nodeBoot: preloadStart,
    preload: preloadEnd - preloadStart,
    firstImdsStart: first(of('imds', 'start')),
    lastImdsEnd: last(of('imds', 'end')),
    firstAwsStart: first(of('aws', 'start')),
    lastAwsEnd: last(of('aws', 'end')),
    exit,
    imdsRequests: of('imds', 'start').length,
    awsRequests: of('aws', 'start').length,
    preloadEnd,
  };
  if (process.env.BENCH_TIMING_FILE) writeFileSync(process.env.BENCH_TIMING_FILE, JSON.stringify(out));
});
