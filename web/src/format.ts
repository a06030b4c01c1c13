import type { WalletRole } from "./generated/graphql";

/** The roles as the platform's access list names them. */
export const ROLE_NAMES: Record<WalletRole, string> = {
  OWNER: "Owner",
  ADMIN: "Admin",
  WITHDRAWALS_WITH_APPROVAL: "Withdrawals with approval",
  READ_ONLY: "Read only",
};

/** The roles the Owner may grant (OWNER belongs to the account's single Owner). */
export const GRANTABLE_ROLES = ["ADMIN", "WITHDRAWALS_WITH_APPROVAL", "READ_ONLY"] as const satisfies readonly WalletRole[];

/** A date and time of the API (ISO, UTC) in the viewer's locale and time zone. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return "";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

/** An enum value of the API in words: CONFIRMED becomes Confirmed. */
export function enumWords(value: string | null | undefined): string {
  if (!value) return "";
  const words = value.toLowerCase().replace(/_/g, " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}
