// The signed-in member's tokens. The access token lives in memory only; the refresh
// token in sessionStorage, so a reload of the tab keeps the session and closing the tab
// ends it. A timer renews the pair a minute before the access token expires.

export interface Session {
  accessToken: string;
  refreshToken: string;
  expiresAt: number;
  tenant: string;
  email: string;
  role: string;
}

const REFRESH_KEY = "marquee.refresh";
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
  if (next) {
    sessionStorage.setItem(
      REFRESH_KEY,
      JSON.stringify({ refreshToken: next.refreshToken, tenant: next.tenant, email: next.email, role: next.role }),
    );
    if (renew) {
      const wait = Math.max(5_000, next.expiresAt - Date.now() - 60_000);
      timer = window.setTimeout(renew, wait);
    }
  } else {
    sessionStorage.removeItem(REFRESH_KEY);
  }
  listeners.forEach((l) => l());
}

export function storedRefresh(): { refreshToken: string; tenant: string; email: string; role: string } | null {
  const raw = sessionStorage.getItem(REFRESH_KEY);
  if (!raw) return null;
  try {
    return JSON.parse(raw);
  } catch {
    return null;
  }
}
