/**
 * What the dashboard answers when a request cannot be served: an HTTP status, a stable code the
 * client script and API callers can branch on, and a message safe to show (it is escaped like
 * everything else, but never carries a stack or a Redis address).
 */
export const DashboardErrorCodes = {
  /** no token, or a wrong one */
  UNAUTHORIZED: 'DASH_UNAUTHORIZED',
  /** read-only, a failed CSRF or Origin check, or a request from beyond loopback without a token */
  FORBIDDEN: 'DASH_FORBIDDEN',
  NOT_FOUND: 'DASH_NOT_FOUND',
  METHOD: 'DASH_METHOD_NOT_ALLOWED',
  /** bad input: a status, an offset, a form field */
  BAD_REQUEST: 'DASH_BAD_REQUEST',
  /** the job is not in a status the action applies to */
  CONFLICT: 'DASH_CONFLICT',
  TOO_LARGE: 'DASH_TOO_LARGE',
  /** Redis did not answer in time */
  UNAVAILABLE: 'DASH_UNAVAILABLE',
  INTERNAL: 'DASH_INTERNAL',
} as const;

export type DashboardErrorCode = (typeof DashboardErrorCodes)[keyof typeof DashboardErrorCodes];

const STATUS: Record<DashboardErrorCode, number> = {
  DASH_UNAUTHORIZED: 401,
  DASH_FORBIDDEN: 403,
  DASH_NOT_FOUND: 404,
  DASH_METHOD_NOT_ALLOWED: 405,
  DASH_BAD_REQUEST: 400,
  DASH_CONFLICT: 409,
  DASH_TOO_LARGE: 413,
  DASH_UNAVAILABLE: 503,
  DASH_INTERNAL: 500,
};

export class DashboardHttpError extends Error {
  readonly code: DashboardErrorCode;
  readonly status: number;

  constructor(code: DashboardErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DashboardHttpError';
    this.code = code;
    this.status = STATUS[code];
  }
}
