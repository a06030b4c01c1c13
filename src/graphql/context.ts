import type { EntityManager } from "@mikro-orm/core";
import DataLoader from "dataloader";
import { loadVisibleUsers } from "../access/access.service.js";
import type { User } from "../access/user.entity.js";
import type { Viewer } from "../access/viewer.js";
import { unauthenticated, type DomainError } from "../domain-error.js";
import type { Wallet } from "../wallets/wallet.entity.js";
import { loadVisibleWallets } from "../wallets/wallet.service.js";

/** What every resolver receives: a request-scoped entity manager, the caller and batched loaders. */
export interface GraphQLContext {
  em: EntityManager;
  viewer: Viewer | null;
  /** Why there is no viewer, when there is none. */
  authError: DomainError | null;
  /** The client address the request is judged by. */
  clientAddress: string;
  loaders: {
    /** Visible wallets by id, one SQL statement per request tick. */
    wallets: DataLoader<string, Wallet | null>;
    /** Visible users by id, one SQL statement per request tick. */
    users: DataLoader<string, User | null>;
  };
}

export function createContext(
  em: EntityManager,
  viewer: Viewer | null,
  authError: DomainError | null,
  clientAddress: string,
): GraphQLContext {
  const loaders: GraphQLContext["loaders"] = {
    wallets: new DataLoader((ids) => (viewer ? loadVisibleWallets(em, viewer, ids) : Promise.resolve(ids.map(() => null)))),
    users: new DataLoader((ids) => (viewer ? loadVisibleUsers(em, viewer, ids) : Promise.resolve(ids.map(() => null)))),
  };
  return { em, viewer, authError, clientAddress, loaders };
}

/** The caller, or UNAUTHENTICATED. */
export function requireViewer(context: GraphQLContext): Viewer {
  if (!context.viewer) throw context.authError ?? unauthenticated();
  return context.viewer;
}
