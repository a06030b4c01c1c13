import { createContext, useContext } from "react";
import type { ViewerQuery } from "../generated/graphql";
import type { Settings } from "../settings";

/** The signed-in tab: its token, who it names, and the way out. */
export interface Session {
  settings: Settings;
  token: string;
  viewer: ViewerQuery["me"];
  /** Forgets the token; `reason` is shown on the sign-in page. */
  signOut(reason: string | null): void;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error("useSession outside a signed-in page");
  return session;
}
