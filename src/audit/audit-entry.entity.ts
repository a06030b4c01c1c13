import { Entity, Enum, Index, OptionalProps, PrimaryKey, Property } from "@mikro-orm/core";
import { WalletRole } from "../access/roles.js";

/**
 * One security-relevant event of an account: who, what, when, from where, and how it ended. Entries are
 * append-only (the database refuses UPDATE and DELETE on them) and hold plain ids rather than foreign keys, so
 * that no account, user or wallet going away deletes or rewrites one. Each entry is chained to the one before
 * it by `hash` (see `audit-chain.ts`).
 */
@Entity({ tableName: "audit_entry" })
@Index({ properties: ["accountId", "id"] })
export class AuditEntry {
  [OptionalProps]?:
    | "createdAt"
    | "detail"
    | "actorId"
    | "actorEmail"
    | "targetUserId"
    | "targetUserEmail"
    | "walletId"
    | "previousRole"
    | "role"
    | "previousHash"
    | "hash";

  @PrimaryKey({ type: "integer", autoincrement: true })
  id!: number;

  @Property({ fieldName: "account_id", type: "string", length: 36 })
  accountId!: string;

  /** The user who acted; null for calls no user could be tied to (e.g. a token request with a wrong secret). */
  @Property({ fieldName: "actor_id", type: "string", length: 36, nullable: true })
  actorId: string | null = null;

  /** The actor's e-mail when the entry was written: the log keeps saying who it was after the user goes. */
  @Property({ type: "string", length: 254, nullable: true })
  actorEmail: string | null = null;

  @Property({ type: "string", length: 64 })
  action!: string;

  @Property({ type: "string", length: 32 })
  outcome!: string;

  @Property({ type: "string", length: 64 })
  clientAddress!: string;

  /** A short human-readable detail; never a secret. */
  @Property({ type: "string", length: 500, nullable: true })
  detail: string | null = null;

  @Property({ type: "datetime" })
  createdAt: Date = new Date();

  /**
   * The user whose wallet access or factors the operation was about, once it was found in the account (or
   * created by it); null when it was not.
   */
  @Property({ fieldName: "target_user_id", type: "string", length: 36, nullable: true })
  targetUserId: string | null = null;

  /** The target user's e-mail when the entry was written. */
  @Property({ type: "string", length: 254, nullable: true })
  targetUserEmail: string | null = null;

  /**
   * The wallet the operation was about, once it was found in the account; null when it was not. Only ids that
   * resolved to a wallet of the account are stored, so no caller's input lands here unchecked.
   */
  @Property({ type: "string", length: 64, nullable: true })
  walletId: string | null = null;

  /** The role held before the operation (role changes and revocations), once the grant was found. */
  @Enum({ items: () => WalletRole, type: "string", length: 32, nullable: true })
  previousRole: WalletRole | null = null;

  /** The role asked for (grants and role changes). */
  @Enum({ items: () => WalletRole, type: "string", length: 32, nullable: true })
  role: WalletRole | null = null;

  /** The hash of the entry before this one; null for the first entry of the chain. */
  @Property({ type: "string", length: 64, nullable: true })
  previousHash: string | null = null;

  /** SHA-256 (hex) over `previousHash` and this entry's content; null only for entries written before the chain. */
  @Property({ type: "string", length: 64, nullable: true })
  hash: string | null = null;
}
