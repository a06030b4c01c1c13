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
  /**
   * An entity manager for work that outlives the request (a subscription's reads): over WebSocket a new one per
   * call, held by nobody once that work is done; over HTTP the request's own.
   */
  freshEm: () => EntityManager;
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
  /**
   * Over HTTP (the router's callback mode, where no socket is guarded): starts guarding a subscription as a socket
   * is guarded, `end` being called with the close code and reason when its token expires or its access is revoked
   * or changed; returns what to call when the subscription ends. Absent over WebSocket and without a viewer.
   */
  guardSubscription?: (end: (code: number, reason: string) => void) => Promise<() => void>;
  /** Forgets the loaders and what they cached: the next use makes new ones (a subscription, at each event). */
  renewLoaders(): void;
  loaders: {
    /** Visible wallets by id, one SQL statement per request tick. */
    wallets: DataLoader<string, Wallet | null>;
    /** Visible users by id, one SQL statement per request tick. */
    users: DataLoader<string, User | null>;
  };
}

/**
 * Batched loaders over one entity manager, forked only when a loader first reads; a subscription makes new ones
 * per event so nothing goes stale, and an event whose selection needs no read costs no fork.
 */
export function createLoaders(em: () => EntityManager, viewer: Viewer | null): GraphQLContext["loaders"] {
  let forked: EntityManager | undefined;
  const read = () => (forked ??= em());
  return {
    wallets: new DataLoader((ids) => (viewer ? loadVisibleWallets(read(), viewer, ids) : Promise.resolve(ids.map(() => null)))),
    users: new DataLoader((ids) => (viewer ? loadVisibleUsers(read(), viewer, ids) : Promise.resolve(ids.map(() => null)))),
  };
}

/**
 * A request's or subscription's context. Its entity manager and loaders are made when first used: a WebSocket
 * holds its context as long as it is open, and most subscriptions never need them between events.
 */
export function createContext(
  em: () => EntityManager,
  runtime: Runtime,
  auth: { viewer: Viewer | null; error: DomainError | null },
  clientAddress: string,
  connection?: GraphQLContext["connection"],
): GraphQLContext {
  let forked: EntityManager | undefined;
  let loaders: GraphQLContext["loaders"] | undefined;
  const fork = () => (forked ??= em());
  let loaderEm: () => EntityManager = fork;
  return {
    get em() {
      return fork();
    },
    freshEm: em,
    runtime,
    viewer: auth.viewer,
    authError: auth.error,
    clientAddress,
    responseHeaders: new Map(),
    get loaders() {
      return (loaders ??= createLoaders(loaderEm, auth.viewer));
    },
    renewLoaders() {
      loaders = undefined;
      // Over WebSocket a fresh entity manager, so that nothing read before is reused.
      loaderEm = em;
    },
    connection,
  };
}

/** The caller, or UNAUTHENTICATED. */
export function requireViewer(context: GraphQLContext): Viewer {
  if (!context.viewer) throw context.authError ?? unauthenticated();
  return context.viewer;
}
