import type { EntityManager } from "@mikro-orm/core";
import DataLoader from "dataloader";
import { loadVisibleUsers } from "../access/access.service.js";
import type { OperationContext } from "../audit/audited-operation.js";
import type { User } from "../access/user.entity.js";
import type { Viewer } from "../access/viewer.js";
import { unauthenticated, type DomainError } from "../domain-error.js";
import type { Wallet } from "../wallets/wallet.entity.js";
import { loadVisibleWallets } from "../wallets/wallet.service.js";
import type { AuthenticationServices } from "../auth/authenticate.js";
import type { EventFeed } from "../events/event-feed.js";
import type { EventLog } from "../events/event-log.js";
import type { CredentialsDependencies } from "../credentials/secured-operation.js";
import type { EnrolmentDependencies } from "../enrolment/enrolment.service.js";
import type { Logger } from "../logger.js";
import type { TraceScope } from "../tracing/tracing.js";
import type { Session } from "./session-guard.js";

/** The services resolvers use, named; built once per service (`app.ts`). */
export interface ResolverServices {
  /** Verifies a token again (a subscription, when its account's access changed). */
  authentication: AuthenticationServices;
  /** The confirmed credential operations' dependencies. */
  credentials: CredentialsDependencies;
  /** Invitations, passwords and the authenticator. */
  enrolment: EnrolmentDependencies;
  events: {
    /** The history. */
    log: Pick<EventLog, "after" | "head" | "epochs" | "forkPoints">;
    /** `EVENT_RETENTION_DAYS` (0: events are kept for good). */
    retentionDays: number;
    /** What subscriptions read and wait on. */
    feed: EventFeed;
    /** How long a consumer may take to accept one event (`SUBSCRIPTION_SEND_TIMEOUT_MS`). */
    sendTimeoutMs: number;
    /** Told of every subscription the server ended, with its code. */
    ended(code: string): void;
  };
  /** Where a failed audit write is reported. */
  logger: Pick<Logger, "error">;
}

/** What every resolver receives: a request-scoped entity manager, the caller and batched loaders. */
export interface GraphQLContext {
  em: EntityManager;
  /**
   * An entity manager for work that outlives the request (a subscription's reads): over WebSocket a new one per
   * call, held by nobody once that work is done; over HTTP the request's own.
   */
  freshEm: () => EntityManager;
  services: ResolverServices;
  viewer: Viewer | null;
  /** Why there is no viewer, when there is none: the authentication failed, or its account's budget is spent. */
  authError: DomainError | null;
  /** The client address the request is judged by (see `network/client-address.ts`). */
  clientAddress: string;
  /** The `Authorization` value the caller authenticated with, to authenticate it again later. */
  authorization: string | undefined;
  /** When the caller's token stops being valid, epoch ms (null without a viewer). */
  expiresAt: number | null;
  /** The viewer's account's access version, read with the viewer (null without a viewer). */
  accessVersion: number | null;
  /** True when the request came straight from a trusted proxy (a router in `TRUSTED_PROXIES`). */
  fromTrustedProxy: boolean;
  /** Headers to add to the HTTP response (e.g. `cache-control: no-store` when a secret is revealed). */
  responseHeaders: Map<string, string>;
  /**
   * The session a subscription runs in, which ends it when its token expires or its access ends: the socket's over
   * graphql-ws, one of its own in the router's callback mode; null for every other request.
   */
  session: Session | null;
  /**
   * Where the operation's spans go: the tracer, and the operation's span, which its resolvers' spans are children
   * of and a subscription's deliveries link to; null when tracing is off.
   */
  trace: TraceScope | null;
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
  services: ResolverServices,
  auth: { viewer: Viewer | null; error: DomainError | null; expiresAt?: number | null; accessVersion?: number | null },
  caller: {
    clientAddress: string;
    authorization: string | undefined;
    fromTrustedProxy: boolean;
    session?: Session | null;
    trace?: TraceScope | null;
  },
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
    services,
    viewer: auth.viewer,
    authError: auth.error,
    clientAddress: caller.clientAddress,
    authorization: caller.authorization,
    expiresAt: auth.expiresAt ?? null,
    accessVersion: auth.accessVersion ?? null,
    fromTrustedProxy: caller.fromTrustedProxy,
    session: caller.session ?? null,
    trace: caller.trace ?? null,
    responseHeaders: new Map(),
    get loaders() {
      return (loaders ??= createLoaders(loaderEm, auth.viewer));
    },
    renewLoaders() {
      loaders = undefined;
      // Over WebSocket a fresh entity manager, so that nothing read before is reused.
      loaderEm = em;
    },
  };
}

/** The caller, or UNAUTHENTICATED. */
export function requireViewer(context: GraphQLContext): Viewer {
  if (!context.viewer) throw context.authError ?? unauthenticated();
  return context.viewer;
}

/** Marks a response that reveals a secret: no cache may store it (`Cache-Control: no-store`). */
export function revealsSecret(context: GraphQLContext): void {
  context.responseHeaders.set("cache-control", "no-store");
}

/** What an audited operation needs of a request: its session, the caller (or UNAUTHENTICATED) and its address. */
export function operationContext(context: GraphQLContext): OperationContext {
  return { em: context.em, viewer: requireViewer(context), clientAddress: context.clientAddress, logger: context.services.logger };
}
