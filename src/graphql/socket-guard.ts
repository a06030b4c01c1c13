import type { EntityManager } from "@mikro-orm/core";
import { accessVersions } from "../access/access-version.js";
import type { Viewer } from "../access/viewer.js";
import { authenticate } from "../auth/authenticate.js";
import { visibleWalletIds } from "../callbacks/callback-event.service.js";
import type { Logger } from "../logger.js";
import type { Runtime } from "../runtime.js";

/** Close codes of a socket whose access ended (documented in docs/subscriptions.md). */
export const CLOSE_TOKEN_EXPIRED = 4401;
export const CLOSE_ACCESS_REVOKED = 4403;

interface Guarded {
  close(code: number, reason: string): void;
  viewer: Viewer;
  authorization: string | undefined;
  clientAddress: string;
  expiresAt: number | null;
  accessVersion: number;
  visible: Set<string> | "all";
}

/**
 * Keeps open sockets honest: every `intervalMs` it closes a socket whose token has expired (4401), and, for the
 * accounts whose access version moved (grants, API user state, API key, whitelist: any instance), checks each
 * socket again and closes it (4403) when its user lost access to anything it could see. One query covers all
 * accounts when nothing changed. A subscription in the router's HTTP callback mode is guarded the same way, its
 * `close` ending the subscription with an error instead.
 */
export class SocketGuard {
  private readonly sockets = new Set<Guarded>();
  private timer: NodeJS.Timeout | null = null;
  private sweeping = false;

  constructor(
    private readonly runtime: Runtime,
    private readonly em: () => EntityManager,
    private readonly logger: Logger,
  ) {}

  /** Starts guarding a socket; returns what to call when it closes. */
  async track(entry: Omit<Guarded, "accessVersion" | "visible">): Promise<() => void> {
    const em = this.em();
    const [versions, visible] = await Promise.all([
      accessVersions(em, [entry.viewer.accountId]),
      visibleWalletIds(em, entry.viewer),
    ]);
    const guarded: Guarded = { ...entry, accessVersion: versions.get(entry.viewer.accountId) ?? 0, visible };
    this.sockets.add(guarded);
    return () => this.sockets.delete(guarded);
  }

  start(intervalMs: number): void {
    this.timer = setInterval(() => void this.sweep(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private async sweep(): Promise<void> {
    if (this.sweeping || this.sockets.size === 0) return;
    this.sweeping = true;
    try {
      const now = Date.now();
      for (const socket of this.sockets) {
        if (socket.expiresAt !== null && socket.expiresAt <= now) this.end(socket, CLOSE_TOKEN_EXPIRED, "Token expired");
      }
      const em = this.em();
      const versions = await accessVersions(em, [...new Set([...this.sockets].map((socket) => socket.viewer.accountId))]);
      for (const socket of this.sockets) {
        const version = versions.get(socket.viewer.accountId) ?? 0;
        if (version === socket.accessVersion) continue;
        const auth = await authenticate(this.runtime, em, socket.authorization, socket.clientAddress);
        if (!auth.viewer) {
          this.end(socket, CLOSE_ACCESS_REVOKED, "Access revoked");
          continue;
        }
        const visible = await visibleWalletIds(em, auth.viewer);
        const lost =
          visible !== "all" && (socket.visible === "all" || [...socket.visible].some((id) => !visible.has(id)));
        if (lost) this.end(socket, CLOSE_ACCESS_REVOKED, "Access changed: subscribe again");
        else Object.assign(socket, { accessVersion: version, visible, viewer: auth.viewer });
      }
    } catch (error) {
      this.logger.warn({ err: error }, "could not check open sockets");
    } finally {
      this.sweeping = false;
    }
  }

  private end(socket: Guarded, code: number, reason: string): void {
    this.runtime.metrics.socketsClosed.inc({ reason: code === CLOSE_TOKEN_EXPIRED ? "token_expired" : "access_revoked" });
    this.sockets.delete(socket);
    socket.close(code, reason);
  }
}
