/**
 * Last-error records phrased as BIRD phrases them: `Socket: Connection refused`,
 * `BGP Error: Hold timer expired` (a NOTIFICATION we sent), `Received: Administrative shutdown`
 * (one we received).
 */
import { notificationText } from '../../proto/errors.js';
import type { LastError } from '../model.js';

/** strerror() texts for the errno codes a BGP socket meets (what BIRD prints after `Socket:`). */
const ERRNO_TEXT: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'Connection refused',
  EHOSTUNREACH: 'No route to host',
  ENETUNREACH: 'Network is unreachable',
  ETIMEDOUT: 'Connection timed out',
  ECONNRESET: 'Connection reset by peer',
  ECONNABORTED: 'Software caused connection abort',
  EPIPE: 'Broken pipe',
  EADDRNOTAVAIL: 'Cannot assign requested address',
  EADDRINUSE: 'Address already in use',
  EACCES: 'Permission denied',
  EPERM: 'Operation not permitted',
  EINVAL: 'Invalid argument',
};

export function socketError(err?: { code?: string | undefined; message?: string } | undefined): LastError {
  if (!err) return { errorClass: 'Socket', message: 'Connection closed' };
  return { errorClass: 'Socket', message: (err.code && ERRNO_TEXT[err.code]) ?? err.message ?? 'Connection closed' };
}

/** A NOTIFICATION this speaker sent. */
export function sentError(code: number, subcode: number): LastError {
  return { errorClass: 'BGP Error', message: notificationText(code, subcode) };
}

/** A NOTIFICATION the peer sent. */
export function receivedError(code: number, subcode: number): LastError {
  return { errorClass: 'Received', message: notificationText(code, subcode) };
}

export function formatLastError(e: LastError | undefined): string {
  return e ? `${e.errorClass}: ${e.message}` : '';
}
