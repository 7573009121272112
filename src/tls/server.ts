/**
 * An HTTP server with or without TLS, one function for the three servers Berth has (the
 * Engine API, berth-registry, the dashboard), so each listener gets the same TLS settings and
 * reports refused handshakes the same way.
 *
 *   const server = httpServer({ requestTimeout: 0 }, tls, handler, (m) => log.info(m));
 *   server.listen(2376, '127.0.0.1');
 *
 * A refused handshake (no client certificate, one from another CA, an expired one) never
 * reaches the handler: the TLS layer ends the connection, and `onRefused` hears why.
 */
import {
  createServer as createHttp,
  type IncomingMessage,
  type Server,
  type ServerOptions,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttps } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { ServerTls } from './load.ts';

export function httpServer(
  options: ServerOptions,
  tls: ServerTls | undefined,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  onRefused?: (message: string) => void,
): Server {
  if (!tls) return createHttp(options, handler);
  // https.Server is a tls.Server that speaks HTTP: the same events (upgrade, clientError),
  // the same close/closeAllConnections, so callers need not know which they got.
  // allowHalfOpen as node:http's own server has it: a hijacked connection (attach, exec) whose
  // client is done writing (docker sends TLS close_notify where plain TCP sends FIN) must keep
  // receiving output; a TLS socket would otherwise end itself on close_notify.
  const server = createHttps({ ...options, ...tls.options, allowHalfOpen: true }, handler) as unknown as Server;
  server.on('tlsClientError', (err: Error & { code?: string }, socket: TLSSocket) => {
    // A certificate that fails verification passes OpenSSL's handshake in Node and is refused
    // just after it (the socket destroyed before any request is read): its reason is then in
    // authorizationError, and the error is only the hang-up. The address is gone with the socket.
    const from = socket.remoteAddress ? ` from ${socket.remoteAddress}:${socket.remotePort}` : '';
    const why = socket.authorizationError ? verifyReason(String(socket.authorizationError)) : handshakeReason(err);
    onRefused?.(`TLS handshake error${from}: ${why}`);
  });
  return server;
}

/** OpenSSL's reason for a failed handshake, in the words Go's (dockerd's) log uses where there are some. */
export function handshakeReason(err: Error & { code?: string }): string {
  if (err.code === 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE') return "client didn't provide a certificate";
  // "…:error:0A0000C7:SSL routines:<function>:<reason>:<file>:<line>:" → the reason
  const m = /SSL routines:[^:]*:([^:]+):/.exec(err.message);
  return (m?.[1] ?? err.message).trim();
}

/** A client certificate's verification error code (Node's `authorizationError`) as Go words it. */
export function verifyReason(code: string): string {
  switch (code) {
    case 'CERT_HAS_EXPIRED':
    case 'CERT_NOT_YET_VALID':
      return 'certificate has expired or is not yet valid';
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
      return `certificate signed by unknown authority (${code})`;
    default:
      return `bad certificate (${code})`;
  }
}
