/** Hide passwords in URLs that end up in messages. */
export function redactUrl(url: string): string {
  // Up to the first '@' after the user name: a password may hold a raw '/' (over-redacting a
  // message is harmless, leaking a password is not).
  return url.replace(/\/\/([^/@:]*):[^@]*@/, '//$1:***@');
}
