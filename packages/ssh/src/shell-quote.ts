/**
 * One POSIX shell word holding exactly `value`: wrapped in single quotes, with each
 * embedded `'` written as `'\''`. Inside single quotes no character is special, so
 * `$`, backticks, `\`, `!`, newlines and globs stay literal. NUL cannot travel in an
 * argument at all and is refused.
 */
export function shQuote(value: string): string {
  if (value.includes('\0')) throw new TypeError('a shell argument cannot contain NUL');
  return `'${value.replaceAll("'", `'\\''`)}'`;
}
