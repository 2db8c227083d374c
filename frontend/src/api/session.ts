// Who is signed in, as the page may know it. The tokens themselves live in HttpOnly
// cookies the page cannot read (docs/console.md, "Sessions"); the page knows only the
// member, when the access cookie expires, and reads the CSRF cookie for each request.
// A timer renews the pair a minute before the access token expires.

export interface Session {
  expiresAt: number;
  email: string;
  role: string;
}

let current: Session | null = null;
let timer: number | undefined;
const listeners = new Set<() => void>();

export function getSession(): Session | null {
  return current;
}

export function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function setSession(next: Session | null, renew?: () => void): void {
  current = next;
  window.clearTimeout(timer);
  if (next && renew) {
    const wait = Math.max(5_000, next.expiresAt - Date.now() - 60_000);
    timer = window.setTimeout(renew, wait);
  }
  listeners.forEach((l) => l());
}

/** The CSRF cookie's value, echoed in `X-CSRF-Token` (double submit); "" when none. */
export function csrfToken(): string {
  for (const part of document.cookie.split(";")) {
    const [name, ...value] = part.trim().split("=");
    if (name === "mq_csrf") return decodeURIComponent(value.join("="));
  }
  return "";
}

/** Whether a session cookie may exist: the CSRF cookie lives as long as the refresh one. */
export function mayHaveSession(): boolean {
  return csrfToken() !== "";
}
