import { EventsSection } from "../events/events-section";
import { WalletsSection } from "../wallets/wallets-section";

/** Balances above, callback events arriving live below. */
export function DashboardPage() {
  return (
    <>
      <h1 className="visually-hidden">Dashboard</h1>
      <WalletsSection />
      <EventsSection />
    </>
  );
}
