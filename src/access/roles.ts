/**
 * A user's role on one wallet, as on the platform. OWNER is never stored per wallet: the account's single Owner
 * holds it on every wallet of the account.
 */
export enum WalletRole {
  OWNER = "OWNER",
  ADMIN = "ADMIN",
  WITHDRAWALS_WITH_APPROVAL = "WITHDRAWALS_WITH_APPROVAL",
  READ_ONLY = "READ_ONLY",
}

/** HUMAN users sign in through the identity provider; the API user authenticates with API credentials. */
export enum UserKind {
  HUMAN = "HUMAN",
  API = "API",
}
