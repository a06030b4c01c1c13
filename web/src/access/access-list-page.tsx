import { Link } from "../navigation/location";
import { ApiTab } from "./api-tab";
import { CallbackSecretTab } from "./callback-secret-tab";
import { PeopleTab } from "./people-tab";

export const ACCESS_LIST_TABS = [
  { id: "people", path: "/access-list", title: "People" },
  { id: "api", path: "/access-list/api", title: "API" },
  { id: "callback-secret", path: "/access-list/callback-secret", title: "Callback secret" },
] as const;

export type AccessListTab = (typeof ACCESS_LIST_TABS)[number]["id"];

/** The Access list of the user menu: who holds which role, API access, and the callback secret. */
export function AccessListPage({ tab }: { tab: AccessListTab }) {
  return (
    <>
      <h1>Access list</h1>
      <nav className="tabs" aria-label="Access list">
        {ACCESS_LIST_TABS.map((entry) => (
          <Link key={entry.id} to={entry.path} className="tab">
            {entry.title}
          </Link>
        ))}
      </nav>
      {tab === "people" && <PeopleTab />}
      {tab === "api" && <ApiTab />}
      {tab === "callback-secret" && <CallbackSecretTab />}
    </>
  );
}

/** What a person other than the Owner sees on a tab whose actions are the Owner's. */
export function OwnerOnly({ what }: { what: string }) {
  return (
    <p className="notice" role="note">
      Only the account's Owner {what}.
    </p>
  );
}
