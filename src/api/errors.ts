/**
 * The one error type of the HTTP API (after trpc's TRPCError): a typed code that decides the
 * status through one table, a message that says what was wrong and where, and, for bad input,
 * every issue found. Anything else thrown in a handler is an internal error, logged, never shown.
 */
export const API_ERROR_STATUS = {
  BAD_REQUEST: 400,
  PARSE_ERROR: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_SUPPORTED: 405,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  INTERNAL_SERVER_ERROR: 500,
  SERVICE_UNAVAILABLE: 503,
} as const;

export type ApiErrorCode = keyof typeof API_ERROR_STATUS;

export interface ApiIssue {
  /** Where: "body.reason", "query.limit", "params.id". */
  path: string;
  message: string;
}

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    readonly issues?: ApiIssue[],
  ) {
    super(message);
  }

  get status(): number {
    return API_ERROR_STATUS[this.code];
  }

  /** The response body; the same shape for every error the API returns. */
  toJSON(): { code: ApiErrorCode; message: string; issues?: ApiIssue[] } {
    return this.issues ? { code: this.code, message: this.message, issues: this.issues } : { code: this.code, message: this.message };
  }
}

/** body-parser's errors carry a `type`; each becomes the code that says what was wrong with the body. */
const BODY_PARSER_CODES: Record<string, ApiErrorCode> = {
  'entity.too.large': 'PAYLOAD_TOO_LARGE',
  'entity.parse.failed': 'PARSE_ERROR',
  'encoding.unsupported': 'UNSUPPORTED_MEDIA_TYPE',
  'charset.unsupported': 'UNSUPPORTED_MEDIA_TYPE',
  'entity.verify.failed': 'BAD_REQUEST',
  'request.aborted': 'BAD_REQUEST',
  'request.size.invalid': 'BAD_REQUEST',
  'stream.encoding.set': 'INTERNAL_SERVER_ERROR',
  'parameters.too.many': 'PAYLOAD_TOO_LARGE',
};

/** Any thrown value as an ApiError: ours as they are, body-parser's by type, the rest internal. */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  const e = error as { type?: string; status?: number; message?: string; limit?: number };
  const code = e?.type ? BODY_PARSER_CODES[e.type] : undefined;
  if (code === 'PAYLOAD_TOO_LARGE') return new ApiError(code, `the request body is larger than the limit of ${e.limit ?? '?'} bytes`);
  if (code === 'PARSE_ERROR') return new ApiError(code, `the request body is not valid JSON: ${e.message ?? 'parse error'}`);
  if (code && code !== 'INTERNAL_SERVER_ERROR') return new ApiError(code, e.message ?? code);
  // A URI that does not decode (%E0%A4%A) is bad input, reported by express as a 400.
  if (e?.status === 400 && e.message) return new ApiError('BAD_REQUEST', e.message);
  return new ApiError('INTERNAL_SERVER_ERROR', 'internal error (logged on the server)');
}
