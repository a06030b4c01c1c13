import { useEffect, useRef, type ReactNode } from "react";
import { Link, usePath } from "./navigation/location";
import { useSession } from "./session/session-context";

/** The page frame: the account, the main sections, and the user menu in the upper right corner. */
export function Layout({ children }: { children: ReactNode }) {
  const { viewer, signOut } = useSession();
  const menu = useRef<HTMLDetailsElement>(null);
  const path = usePath();
  useEffect(() => {
    if (menu.current) menu.current.open = false;
  }, [path]);
  return (
    <>
      <header className="top-bar">
        <Link to="/" className="brand">
          {viewer.account.name}
        </Link>
        <nav aria-label="Sections">
          <Link to="/">Dashboard</Link>
          <Link to="/access-list" aria-current={path.startsWith("/access-list") ? "page" : undefined}>
            Access list
          </Link>
        </nav>
        <details className="user-menu" ref={menu}>
          <summary aria-label="User menu">
            <span className="avatar" aria-hidden="true">
              {viewer.user.email.charAt(0).toUpperCase()}
            </span>
            <span>{viewer.user.email}</span>
            {viewer.isOwner && <span className="badge">Owner</span>}
          </summary>
          <ul>
            <li>
              <Link to="/access-list">Access list</Link>
            </li>
            <li>
              <Link to="/two-factor">Two-factor authentication</Link>
            </li>
            <li>
              <button type="button" onClick={() => signOut("You signed out.")}>
                Sign out
              </button>
            </li>
          </ul>
        </details>
      </header>
      <main>{children}</main>
    </>
  );
}
