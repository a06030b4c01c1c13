import { UniqueConstraintViolationException, type EntityManager } from "@mikro-orm/core";
import { AuditAction, type AuditSubject } from "../audit/audit.service.js";
import { auditedOperation, type OperationContext } from "../audit/audited-operation.js";
import { badInput, forbidden, notFound } from "../domain-error.js";
import { issueInvitation, type InvitationDependencies, type IssuedInvitation } from "../enrolment/invitations.js";
import { isUserId, requireEmail, requireUserId, requireWalletId } from "../input-validation.js";
import { Wallet } from "../wallets/wallet.entity.js";
import { visibleWallets } from "./wallet-visibility.js";
import { Account } from "./account.entity.js";
import { bumpAccessVersion } from "./access-version.js";
import { UserKind, WalletRole } from "./roles.js";
import { User } from "./user.entity.js";
import type { Viewer } from "./viewer.js";
import { WalletAccess } from "./wallet-access.entity.js";

/** A role on one wallet. */
export interface Grant {
  wallet: Wallet;
  role: WalletRole;
}

/** One user of the account and every wallet role they hold. */
export interface AccessEntry {
  user: User;
  isOwner: boolean;
  grants: Grant[];
}

/** Roles the Owner may hand out: every role but OWNER itself. */
const GRANTABLE = new Set([WalletRole.ADMIN, WalletRole.WITHDRAWALS_WITH_APPROVAL, WalletRole.READ_ONLY]);

/** The role a user who holds every wallet has on each: OWNER for the Owner, ADMIN for the API user. */
function everyWalletRole(user: User): WalletRole | null {
  if (user.isOwner) return WalletRole.OWNER;
  return user.kind === UserKind.API ? WalletRole.ADMIN : null;
}

/**
 * Builds the entries of the given users: the Owner holds OWNER and the API user ADMIN on every wallet of the
 * account; the others hold their stored rows.
 */
async function entriesFor(em: EntityManager, accountId: string, users: User[]): Promise<AccessEntry[]> {
  if (users.length === 0) return [];
  const holdsAll = users.some((user) => everyWalletRole(user) !== null);
  const others = users.filter((user) => everyWalletRole(user) === null).map((user) => user.id);
  const [accountWallets, rows] = await Promise.all([
    holdsAll ? em.find(Wallet, { account: accountId }, { orderBy: { id: "asc" } }) : Promise.resolve([]),
    others.length === 0
      ? Promise.resolve([])
      : em.find(WalletAccess, { user: { $in: others } }, { populate: ["wallet"], orderBy: { wallet: { id: "asc" } } }),
  ]);
  return users.map((user) => {
    const role = everyWalletRole(user);
    return {
      user,
      isOwner: user.isOwner,
      grants:
        role !== null
          ? accountWallets.map((wallet) => ({ wallet, role }))
          : rows.filter((row) => row.user.id === user.id).map((row) => ({ wallet: row.wallet, role: row.role })),
    };
  });
}

/** The viewer's own entry: their user, account and role per wallet. */
export async function viewerEntry(em: EntityManager, viewer: Viewer): Promise<AccessEntry & { account: Account }> {
  const user = await em.findOneOrFail(User, { id: viewer.userId }, { populate: ["account"] });
  const [entry] = await entriesFor(em, viewer.accountId, [user]);
  return { ...entry!, account: user.account };
}

/** One entry per user of the account for the Owner; only their own entry for anyone else. */
export async function accessList(em: EntityManager, viewer: Viewer): Promise<AccessEntry[]> {
  const users = await em.find(
    User,
    viewer.isOwner ? { account: viewer.accountId } : { id: viewer.userId },
    { orderBy: { isOwner: "desc", email: "asc" } },
  );
  return entriesFor(em, viewer.accountId, users);
}

/**
 * Users the viewer may see, in one SQL statement, in the order asked (null for the rest): the Owner sees every
 * user of the account, anyone else only themselves.
 */
export async function loadVisibleUsers(
  em: EntityManager,
  viewer: Viewer,
  ids: readonly string[],
): Promise<(User | null)[]> {
  const wanted = [...new Set(ids.filter(isUserId).map((id) => id.toLowerCase()))];
  const scoped = viewer.isOwner ? wanted : wanted.filter((id) => id === viewer.userId);
  const found = scoped.length === 0 ? [] : await em.find(User, { id: { $in: scoped }, account: viewer.accountId });
  const byId = new Map(found.map((user) => [user.id, user]));
  return ids.map((id) => byId.get(id.toLowerCase()) ?? null);
}

function requireOwner(viewer: Viewer): void {
  if (!viewer.isOwner) throw forbidden("Only the account Owner can manage wallet access");
}

/** The role, when it is one of the roles; what an audit entry may record of a role asked for. */
function knownRole(role: unknown): WalletRole | null {
  return Object.values<unknown>(WalletRole).includes(role) ? (role as WalletRole) : null;
}

function requireGrantable(role: WalletRole): void {
  if (role === WalletRole.OWNER) {
    throw badInput("The OWNER role cannot be granted: an account has exactly one Owner", "role");
  }
  if (!GRANTABLE.has(role)) throw badInput(`Unknown role ${String(role)}`, "role");
}

/** A wallet of the viewer's account, noted in the audit subject once found. */
async function accountWallet(em: EntityManager, viewer: Viewer, walletId: string, subject: AuditSubject): Promise<Wallet> {
  const wallet = await em.findOne(Wallet, { $and: [{ id: requireWalletId(walletId) }, visibleWallets(viewer)] });
  if (!wallet) throw notFound(`Wallet ${walletId} was not found in this account`);
  subject.walletId = wallet.id;
  return wallet;
}

/**
 * A user of the viewer's account whose access the Owner may manage, noted in the audit subject once found, so
 * that a refusal to manage them (the Owner, the API user) names them.
 */
async function manageableUser(em: EntityManager, viewer: Viewer, userId: string, subject: AuditSubject): Promise<User> {
  const user = await em.findOne(User, { id: requireUserId(userId), account: viewer.accountId });
  if (!user) throw notFound(`User ${userId} was not found in this account`);
  subject.targetUserId = user.id;
  assertManageable(user);
  return user;
}

function assertManageable(user: User): void {
  if (user.isOwner) throw badInput("The Owner's access cannot be changed or revoked", "userId");
  if (user.kind === UserKind.API) {
    throw badInput("The API user's access is managed with API access: it holds ADMIN on every wallet", "userId");
  }
}

async function entryOf(em: EntityManager, viewer: Viewer, user: User): Promise<AccessEntry> {
  const [entry] = await entriesFor(em, viewer.accountId, [user]);
  return entry!;
}

export interface GrantWalletAccessInput {
  /** An existing user of the account; give this or `email`. */
  userId?: string | null;
  /** A user of the account by e-mail, added to the account when new; give this or `userId`. */
  email?: string | null;
  walletId: string;
  role?: WalletRole | null;
}

/**
 * Gives a user a role on a wallet (READ_ONLY by default, as on the platform). Owner only. Audited, refusals
 * included, with the user, the wallet and the role asked for. A grant by e-mail that adds the user to the account
 * also issues their invitation to set a password, in the same transaction, and returns it (shown this once); the
 * user has no password and no authenticator until they accept it and turn one on.
 */
export function grantWalletAccess(
  context: OperationContext,
  input: GrantWalletAccessInput,
  invitations: InvitationDependencies,
): Promise<{ entry: AccessEntry; grant: Grant; invitation: IssuedInvitation | null }> {
  const { em, viewer } = context;
  return auditedOperation(context, AuditAction.GRANT_WALLET_ACCESS, async (subject, commit) => {
    const role = input.role ?? WalletRole.READ_ONLY;
    subject.role = knownRole(role);
    requireOwner(viewer);
    requireGrantable(role);
    if ((input.userId == null) === (input.email == null)) throw badInput("Give exactly one of userId and email", "userId");
    const email = input.email == null ? null : requireEmail(input.email);
    const wallet = await accountWallet(em, viewer, input.walletId, subject);

    // A user this grant adds is named in the SUCCESS entry, which commits with it, and in no entry if it rolls back.
    let added = false;
    const { created, result } = await commit(async (tx) => {
      let user: User | null;
      let created = false;
      if (email !== null) {
        user = await tx.findOne(User, { account: viewer.accountId, email });
        if (user) {
          subject.targetUserId = user.id;
          assertManageable(user);
        } else {
          user = tx.create(User, { account: viewer.accountId, email, kind: UserKind.HUMAN });
          created = true;
          added = true;
        }
      } else {
        user = await manageableUser(tx, viewer, input.userId!, subject);
      }
      const existing = await tx.findOne(WalletAccess, { user: user.id, wallet: wallet.id });
      if (existing) {
        throw badInput(
          `${user.email} already holds ${existing.role} on wallet ${wallet.id}; use changeWalletRole to change it`,
          "walletId",
        );
      }
      tx.create(WalletAccess, { user, wallet, role });
      try {
        await tx.flush();
        await bumpAccessVersion(tx, viewer.accountId);
      } catch (error) {
        if (error instanceof UniqueConstraintViolationException) {
          throw badInput(`${user.email} already has access to wallet ${wallet.id}`, "walletId");
        }
        throw error;
      }
      const invitation = created ? await issueInvitation(tx, invitations, user.id) : null;
      subject.targetUserId = user.id;
      return { created, result: { entry: await entryOf(tx, viewer, user), grant: { wallet, role }, invitation } };
    }, (done) => (done.created ? "User added to the account" : undefined)).catch((error: unknown) => {
      if (added) subject.targetUserId = null;
      throw error;
    });
    return { result, detail: created ? "User added to the account" : undefined };
  });
}

export interface ChangeWalletRoleInput {
  userId: string;
  walletId: string;
  role: WalletRole;
}

/**
 * Changes the role a user holds on a wallet. Owner only. Audited, refusals included, with the user, the wallet,
 * the role held before and the role asked for.
 */
export function changeWalletRole(
  context: OperationContext,
  input: ChangeWalletRoleInput,
): Promise<{ entry: AccessEntry; grant: Grant }> {
  const { em, viewer } = context;
  return auditedOperation(context, AuditAction.CHANGE_WALLET_ROLE, async (subject, commit) => {
    subject.role = knownRole(input.role);
    requireOwner(viewer);
    requireGrantable(input.role);
    const wallet = await accountWallet(em, viewer, input.walletId, subject);
    const user = await manageableUser(em, viewer, input.userId, subject);
    const access = await em.findOne(WalletAccess, { user: user.id, wallet: wallet.id });
    if (!access) throw notFound(`${user.email} has no access to wallet ${wallet.id}; use grantWalletAccess`);
    subject.previousRole = access.role;
    access.role = input.role;
    await commit(async (tx) => {
      await tx.flush();
      await bumpAccessVersion(tx, viewer.accountId);
    });
    return { result: { entry: await entryOf(em, viewer, user), grant: { wallet, role: input.role } } };
  });
}

export interface RevokeWalletAccessInput {
  userId: string;
  walletId: string;
}

/**
 * Removes a user's access to a wallet. Owner only. Audited, refusals included, with the user, the wallet and the
 * role held before.
 */
export function revokeWalletAccess(
  context: OperationContext,
  input: RevokeWalletAccessInput,
): Promise<{ entry: AccessEntry; wallet: Wallet }> {
  const { em, viewer } = context;
  return auditedOperation(context, AuditAction.REVOKE_WALLET_ACCESS, async (subject, commit) => {
    requireOwner(viewer);
    const wallet = await accountWallet(em, viewer, input.walletId, subject);
    const user = await manageableUser(em, viewer, input.userId, subject);
    const access = await em.findOne(WalletAccess, { user: user.id, wallet: wallet.id });
    if (!access) throw notFound(`${user.email} has no access to wallet ${wallet.id}`);
    subject.previousRole = access.role;
    await commit(async (tx) => {
      tx.remove(access);
      await tx.flush();
      await bumpAccessVersion(tx, viewer.accountId);
    });
    return { result: { entry: await entryOf(em, viewer, user), wallet } };
  });
}
