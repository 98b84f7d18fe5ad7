/** An error the API answers with its own status and code: `{ error, message }`. */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
    Object.setPrototypeOf(this, ApiError.prototype);
  }
}

export const unauthorized = (message = 'send Authorization: Bearer <token> with a valid token'): ApiError =>
  new ApiError(401, 'unauthorized', message);
export const forbidden = (message: string): ApiError => new ApiError(403, 'forbidden', message);
export const notFound = (message: string): ApiError => new ApiError(404, 'not_found', message);
export const conflict = (code: string, message: string): ApiError => new ApiError(409, code, message);
export const invalid = (message: string): ApiError => new ApiError(400, 'invalid_request', message);
export const unprocessable = (code: string, message: string): ApiError => new ApiError(422, code, message);
