import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A stand-in for an AWS endpoint (or a proxy in front of one) that refuses every call with an error
 * whose message quotes the caller's session token and Authorization header back. Real AWS does not
 * do this; it is the worst case for "SDK errors must not carry credentials into our messages".
 */
export interface EchoAws {
  readonly endpoint: string;
  requests(): number;
  close(): Promise<void>;
}

export async function startEchoAws(): Promise<EchoAws> {
  let count = 0;
  const server = http.createServer((req, res) => {
    count++;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const token = String(req.headers['x-amz-security-token'] ?? '');
      const message = `The security token ${token} is invalid (request signed with ${String(req.headers.authorization ?? '')})`;
      const body = Buffer.concat(chunks).toString();
      if (req.headers['x-amz-target']) {
        res.writeHead(400, {
          'content-type': 'application/x-amz-json-1.1',
          'x-amzn-errortype': 'UnrecognizedClientException',
        });
        res.end(JSON.stringify({ __type: 'UnrecognizedClientException', message }));
      } else if (/Version=2016-11-15/.test(body)) {
        res.writeHead(401, { 'content-type': 'text/xml' });
        res.end(
          `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>AuthFailure</Code><Message>${xml(message)}</Message></Error></Errors><RequestID>echo</RequestID></Response>`,
        );
      } else {
        res.writeHead(403, { 'content-type': 'text/xml' });
        res.end(
          `<ErrorResponse><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code><Message>${xml(message)}</Message></Error><RequestId>echo</RequestId></ErrorResponse>`,
        );
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests: () => count,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function xml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
