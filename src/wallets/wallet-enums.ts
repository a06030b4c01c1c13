/** Wallet status with the platform's numeric codes, stored as those codes. */
export enum WalletStatus {
  NOT_ACTIVE = 1,
  IN_PROGRESS = 2,
  ACTIVE = 3,
}

/** Wallet type with the platform's numeric codes, stored as those codes. */
export enum WalletType {
  MERCHANT = 1,
  ENTERPRISE = 2,
  SWAP = 5,
}
