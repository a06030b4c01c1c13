/**
 * The bearer token of this tab, kept in sessionStorage: it survives a reload of the tab, is not shared with other
 * tabs, and is gone when the tab closes. Nothing else the page learns is ever stored.
 */
const KEY = "access-dashboard.token";

export const tokenStore = {
  read(): string | null {
    return window.sessionStorage.getItem(KEY);
  },
  write(token: string): void {
    window.sessionStorage.setItem(KEY, token);
  },
  clear(): void {
    window.sessionStorage.removeItem(KEY);
  },
};

/** A pasted token without an `Authorization` scheme, spaces or quotes around it. */
export function cleanToken(text: string): string {
  return text.trim().replace(/^["']|["']$/g, "").replace(/^Bearer\s+/i, "").trim();
}

/**
 * When the token says it expires (its `exp` claim), to tell the person beforehand; null when it does not say or
 * cannot be read. The API decides whether a token is valid: this is no check.
 */
export function tokenExpiry(token: string): Date | null {
  const payload = token.split(".")[1];
  if (!payload) return null;
  try {
    const claims = JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/"))) as { exp?: unknown };
    return typeof claims.exp === "number" ? new Date(claims.exp * 1000) : null;
  } catch {
    return null;
  }
}
