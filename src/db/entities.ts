import { Account } from "../access/account.entity.js";
import { User } from "../access/user.entity.js";
import { WalletAccess } from "../access/wallet-access.entity.js";
import { AuditEntry } from "../audit/audit-entry.entity.js";
import { IdentityLink } from "../auth/identity-link.entity.js";
import { EpochFork, EventEpoch } from "../events/epoch.entity.js";
import { CallbackEvent, EventSequence, RetainedKey } from "../events/event.entity.js";
import { ConfirmationState } from "../confirmation/confirmation-state.entity.js";
import { ApiAccess } from "../credentials/api-access.entity.js";
import { CallbackSecret } from "../credentials/callback-secret.entity.js";
import { Invitation } from "../enrolment/invitation.entity.js";
import { RecoveryCode } from "../enrolment/recovery-code.entity.js";
import { RateLimitWindow } from "../network/rate-limit-window.entity.js";
import { ProvisioningRequest } from "../provisioning/provisioning-request.entity.js";
import { Currency, Wallet } from "../wallets/wallet.entity.js";

/** Every ORM entity and embeddable; discovery is explicit so the built server never scans folders. */
export const entities = [
  Account,
  User,
  Wallet,
  Currency,
  WalletAccess,
  ConfirmationState,
  ApiAccess,
  CallbackSecret,
  AuditEntry,
  RateLimitWindow,
  CallbackEvent,
  EventSequence,
  RetainedKey,
  EventEpoch,
  EpochFork,
  Invitation,
  RecoveryCode,
  IdentityLink,
  ProvisioningRequest,
];
