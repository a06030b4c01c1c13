import { Entity, Enum, ManyToOne, OptionalProps, PrimaryKey, Property, Unique, type Rel } from "@mikro-orm/core";
import { randomUUID } from "node:crypto";
import { Wallet } from "../wallets/wallet.entity.js";
import { WalletRole } from "./roles.js";
import { User } from "./user.entity.js";

/** One user's role on one wallet. The Owner has no rows: the Owner holds every wallet of the account. */
@Entity({ tableName: "wallet_access" })
@Unique({ properties: ["user", "wallet"] })
export class WalletAccess {
  [OptionalProps]?: "createdAt";

  @PrimaryKey({ type: "string", length: 36 })
  id: string = randomUUID();

  @ManyToOne(() => User, { deleteRule: "cascade" })
  user!: Rel<User>;

  @ManyToOne(() => Wallet, { deleteRule: "cascade" })
  wallet!: Rel<Wallet>;

  @Enum({ items: () => WalletRole, type: "string", length: 32 })
  role!: WalletRole;

  @Property({ type: "datetime" })
  createdAt: Date = new Date();
}
