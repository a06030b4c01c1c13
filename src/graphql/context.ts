import type { EntityManager } from "@mikro-orm/core";
import DataLoader from "dataloader";
import { loadVisibleUsers } from "../access/access.service.js";
import type { User } from "../access/user.entity.js";
import type { Viewer } from "../access/viewer.js";
import { unauthenticated, type DomainError } from "../domain-error.js";
import type { Runtime } from "../runtime.js";
import type { Wallet } from "../wallets/wallet.entity.js";
import { loadVisibleWallets } from "../wallets/wallet.service.js";

/** What every resolver receives: a request-scoped entity manager, the caller and batched loaders. */
export interface GraphQLContext {
  em: EntityManager;
  runtime: Runtime;
  viewer: Viewer | null;
  /** Why there is no viewer, when there is none. */
  authError: DomainError | null;
  /** The client address the request is judged by (see `network/client-address.ts`). */
  clientAddress: string;
  /** Headers to add to the HTTP response (e.g. `cache-control: no-store` when a secret is revealed). */
  responseHeaders: Map<string, string>;
  /** The WebSocket a subscription runs on; absent over HTTP. */
  connection?: { close(code: number, reason: string): void };
  loaders: {
    /** Visible wallets by id, one SQL statement per request tick. */
    wallets: DataLoader<string, Wallet | null>;
    /** Visible users by id, one SQL statement per request tick. */
    users: DataLoader<string, User | null>;
  };
}

/** Batched loaders over one entity manager; a subscription makes new ones per event so nothing goes stale. */
export function createLoaders(em: EntityManager, viewer: Viewer | null): GraphQLContext["loaders"] {
  return {
    wallets: new DataLoader((ids) => (viewer ? loadVisibleWallets(em, viewer, ids) : Promise.resolve(ids.map(() => null)))),
    users: new DataLoader((ids) => (viewer ? loadVisibleUsers(em, viewer, ids) : Promise.resolve(ids.map(() => null)))),
  };
}

export function createContext(
  em: EntityManager,
  runtime: Runtime,
  auth: { viewer: Viewer | null; error: DomainError | null },
  clientAddress: string,
  connection?: GraphQLContext["connection"],
): GraphQLContext {
  return {
    em,
    runtime,
    viewer: auth.viewer,
    authError: auth.error,
    clientAddress,
    responseHeaders: new Map(),
    loaders: createLoaders(em, auth.viewer),
    connection,
  };
}

/** The caller, or UNAUTHENTICATED. */
export function requireViewer(context: GraphQLContext): Viewer {
  if (!context.viewer) throw context.authError ?? unauthenticated();
  return context.viewer;
}
