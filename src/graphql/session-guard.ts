import type { EntityManager } from "@mikro-orm/core";
import { accessVersions } from "../access/access-version.js";
import type { Viewer } from "../access/viewer.js";
import { authenticate, type AuthenticationServices } from "../auth/authenticate.js";
import type { Clock } from "../clock.js";
import { limitExceeded, tokenExpired, type DomainError } from "../domain-error.js";
import type { Logger } from "../logger.js";

/** A subscription the guard can check and end (see `callbacks/event-subscription.ts`). */
export interface GuardedSubscription {
  /** Checks it against the viewer's access now; it ends itself (FORBIDDEN) when it lost a wallet it could see. */
  recheck(viewer: Viewer): Promise<void>;
  /** Ends it: the client gets `error` as its last message. */
  end(error: DomainError): void;
  /** Resolves once the consumer was handed the subscription's last result (after `end`, its error). */
  readonly settled: Promise<void>;
}

/** What a transport tells the guard about a session it opens. */
export interface SessionInit {
  viewer: Viewer;
  /** The `Authorization` value the session authenticated with, checked again when the account's access changes. */
  authorization: string | undefined;
  clientAddress: string;
  /** When the token stops being valid, epoch ms. */
  expiresAt: number | null;
  /**
   * The account's access version the viewer was read at: the guard checks the session's access again once the
   * account's moves past it.
   */
  accessVersion: number;
  /**
   * Called once when nothing on the session can continue (its token expired, its user can no longer sign in, the
   * server stops), after each of its subscriptions was ended with `error`: the transport closes what it holds.
   */
  onEnd(error: DomainError): void;
  /** The session holds one subscription (callback mode): it closes when that subscription ends. */
  endsWithLastSubscription?: boolean;
}

/**
 * What one token holds open: a graphql-ws socket, or one subscription in the router's HTTP callback mode. Every
 * subscription it runs is added to it, so that the guard can end them.
 */
export class Session {
  readonly subscriptions = new Set<GuardedSubscription>();
  viewer: Viewer;
  /** The account's access version the session's access was last checked at. */
  accessVersion: number;
  /** The error the session ended with; set once. */
  ended: DomainError | null = null;

  constructor(
    readonly init: SessionInit,
    private readonly forget: (session: Session) => void,
  ) {
    this.viewer = init.viewer;
    this.accessVersion = init.accessVersion;
  }

  /** Adds a subscription for as long as it runs; returns what to call when it ends. An ended session ends it at once. */
  add(subscription: GuardedSubscription): () => void {
    if (this.ended) {
      subscription.end(this.ended);
      return () => {};
    }
    this.subscriptions.add(subscription);
    return () => {
      this.subscriptions.delete(subscription);
      if (this.init.endsWithLastSubscription && this.subscriptions.size === 0) this.close();
    };
  }

  /**
   * Ends every subscription with `error`, then tells the transport (once). Resolves once each subscription's
   * consumer was handed that error.
   */
  end(error: DomainError): Promise<void> {
    if (this.ended) return Promise.resolve();
    this.ended = error;
    const ended = [...this.subscriptions];
    for (const subscription of ended) subscription.end(error);
    this.subscriptions.clear();
    this.forget(this);
    this.init.onEnd(error);
    return Promise.all(ended.map((subscription) => subscription.settled)).then(() => {});
  }

  /** The transport closed: the guard forgets the session. */
  close(): void {
    this.subscriptions.clear();
    this.forget(this);
  }
}

/**
 * Keeps open sessions honest. Every `intervalMs` it ends a session whose token has expired (UNAUTHENTICATED), and,
 * for the accounts whose access version moved (grants, API user state, API key, whitelist, suspension: any
 * instance), authenticates each session again: one that no longer authenticates ends with the reason (a suspended
 * account's with ACCOUNT_SUSPENDED), and each subscription of one that does is checked against what the viewer
 * may see now. One query covers all accounts when nothing changed. It also counts sessions per user, against
 * `maxPerUser`.
 */
export class SessionGuard {
  private readonly sessions = new Set<Session>();
  private readonly perUser = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private sweeping = false;

  constructor(
    private readonly options: {
      authentication: AuthenticationServices;
      em: () => EntityManager;
      clock: Clock;
      logger: Pick<Logger, "warn">;
      /** Sessions one user may hold open (`WS_MAX_SOCKETS_PER_USER`). */
      maxPerUser: number;
    },
  ) {}

  /** Opens a session for a viewer, or answers LIMIT_EXCEEDED when the user already holds `maxPerUser` open. */
  open(init: SessionInit): Session | DomainError {
    const userId = init.viewer.userId;
    const held = this.perUser.get(userId) ?? 0;
    const { maxPerUser } = this.options;
    if (held >= maxPerUser) {
      return limitExceeded(
        `At most ${maxPerUser} subscription connections per user are open at once`,
        "WS_MAX_SOCKETS_PER_USER",
      );
    }
    this.perUser.set(userId, held + 1);
    const session = new Session(init, (forgotten) => this.forget(forgotten));
    this.sessions.add(session);
    return session;
  }

  /**
   * Ends every session with `error` (the server stops). Resolves once every subscription's consumer was handed
   * it: only then may the transports stop (Apollo Server, stopping, completes the callback-mode subscriptions it
   * still runs without an error).
   */
  endAll(error: DomainError): Promise<void> {
    return Promise.all([...this.sessions].map((session) => session.end(error))).then(() => {});
  }

  start(intervalMs: number): void {
    this.timer = setInterval(() => void this.sweep(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private forget(session: Session): void {
    if (!this.sessions.delete(session)) return;
    const userId = session.init.viewer.userId;
    const held = (this.perUser.get(userId) ?? 1) - 1;
    if (held <= 0) this.perUser.delete(userId);
    else this.perUser.set(userId, held);
  }

  private async sweep(): Promise<void> {
    if (this.sweeping || this.sessions.size === 0) return;
    this.sweeping = true;
    try {
      const now = this.options.clock.now();
      for (const session of this.sessions) {
        if (session.init.expiresAt !== null && session.init.expiresAt <= now) void session.end(tokenExpired());
      }
      const em = this.options.em();
      const versions = await accessVersions(em, [...new Set([...this.sessions].map((session) => session.viewer.accountId))]);
      for (const session of this.sessions) {
        const version = versions.get(session.viewer.accountId) ?? 0;
        if (version === session.accessVersion) continue;
        const auth = await authenticate(this.options.authentication, em, session.init.authorization, session.init.clientAddress);
        if (!auth.viewer) {
          void session.end(auth.error);
          continue;
        }
        session.viewer = auth.viewer;
        session.accessVersion = version;
        await Promise.all([...session.subscriptions].map((subscription) => subscription.recheck(auth.viewer)));
      }
    } catch (error) {
      this.options.logger.warn({ err: error }, "could not check open sessions");
    } finally {
      this.sweeping = false;
    }
  }
}
