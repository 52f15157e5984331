/**
 * What a person reads when something fails: the server's own human message when it sent one
 * (`{ code, message }`), a plain sentence when the network failed, never a stack trace.
 */
export function humanMessage(error: unknown): string {
  if (error instanceof TypeError && /fetch|network/i.test(error.message)) return 'Cannot reach the server. Check your connection and try again.';
  // The SDK's ApiError says which request failed ("POST /v1/…: message"): a person needs the message.
  if (error instanceof Error && error.name === 'ApiError') return error.message.replace(/^(GET|POST|PUT|PATCH|DELETE) \S+: /, '');
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}

/** Reads a failed response's `{ code, message }` (or its text) into an Error carrying the server's message. */
export async function responseError(response: Response): Promise<Error> {
  const text = await response.text();
  try {
    const body = JSON.parse(text) as { code?: string; message?: string };
    if (body.message) return Object.assign(new Error(body.message), { code: body.code, status: response.status });
  } catch {
    /* not JSON */
  }
  return Object.assign(new Error(`The server answered ${response.status}${text ? `: ${text.slice(0, 200)}` : ''}`), { status: response.status });
}
