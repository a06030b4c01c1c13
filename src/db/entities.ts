import { Account } from "../access/account.entity.js";
import { User } from "../access/user.entity.js";
import { WalletAccess } from "../access/wallet-access.entity.js";
import { Currency, Wallet } from "../wallets/wallet.entity.js";

/** Every ORM entity and embeddable; discovery is explicit so the built server never scans folders. */
export const entities = [Account, User, Wallet, Currency, WalletAccess];
