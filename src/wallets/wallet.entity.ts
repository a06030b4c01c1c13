import {
  Collection,
  Embeddable,
  Embedded,
  Entity,
  Enum,
  Index,
  ManyToOne,
  OneToMany,
  OptionalProps,
  PrimaryKey,
  Property,
  type Rel,
} from "@mikro-orm/core";
import { Account } from "../access/account.entity.js";
import { WalletStatus, WalletType } from "./wallet-enums.js";

/** The platform's currency object, as far as a wallet needs it. */
@Embeddable()
export class Currency {
  /** Numeric ISO-like code of the platform (e.g. 1002 for ETH). */
  @Property({ type: "integer" })
  iso!: number;

  /** Ticker, e.g. `BTC`, `USDT-ETH`. */
  @Property({ type: "string", length: 32 })
  alpha!: string;

  @Property({ type: "string", length: 100 })
  name!: string;

  /** Number of decimals amounts carry. */
  @Property({ type: "integer" })
  exp!: number;
}

/**
 * A wallet of a merchant account. Balances are decimal strings exactly as the platform sends them, stored as
 * text so that neither database ever turns them into floats.
 */
@Entity({ tableName: "wallet" })
// Serves both "the wallets of an account" and keyset pages ordered by id within it.
@Index({ properties: ["account", "id"] })
export class Wallet {
  [OptionalProps]?: "balanceConfirmed" | "balancePending" | "balanceUnusable" | "createdAt";

  /** The platform's wallet id. */
  @PrimaryKey({ type: "string", length: 64 })
  id!: string;

  @ManyToOne(() => Account, { deleteRule: "cascade" })
  account!: Rel<Account>;

  @Property({ type: "string", length: 100 })
  label!: string;

  @Enum({ items: () => WalletStatus, type: "smallint" })
  status!: WalletStatus;

  @Enum({ items: () => WalletType, type: "smallint" })
  type!: WalletType;

  @Embedded(() => Currency, { prefix: "currency_" })
  currency!: Currency;

  @Property({ type: "string", length: 80 })
  balanceConfirmed: string = "0";

  @Property({ type: "string", length: 80 })
  balancePending: string = "0";

  @Property({ type: "string", length: 80 })
  balanceUnusable: string = "0";

  @Property({ type: "datetime" })
  createdAt: Date = new Date();

  /**
   * The roles held on this wallet (`access/wallet-access.entity.ts`), named rather than imported, so that the two
   * entities do not import each other; queries filter on it (`access/wallet-visibility.ts`).
   */
  @OneToMany({ entity: "WalletAccess", mappedBy: "wallet" })
  accesses = new Collection<{ user: object; wallet: Wallet }>(this);
}
