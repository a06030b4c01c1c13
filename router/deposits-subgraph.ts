import { ApolloServer } from "@apollo/server";
import { ApolloServerPluginInlineTraceDisabled } from "@apollo/server/plugin/disabled";
import { startStandaloneServer } from "@apollo/server/standalone";
import { buildSubgraphSchema } from "@apollo/subgraph";
import { parse } from "graphql";
import fs from "node:fs";
import { repositoryFile } from "./repository.js";

/**
 * The development deposits subgraph, as another team would own it (SDL in `router/deposits.graphql`, named by
 * `router/supergraph.yaml`): it extends Wallet with deposits and references Wallet and User of this subgraph. Its
 * data is fixed and in memory; it exists so that queries crossing both subgraphs work behind a router.
 */
export const DEPOSITS_SDL = fs.readFileSync(repositoryFile("router/deposits.graphql"), "utf8");

export interface DepositsOptions {
  /** User id of the approver of every deposit (a User this subgraph only references). @default null */
  approverId?: string | null;
  /** Port to listen on; 0 picks a free one. @default 0 */
  port?: number;
  /** Interface to listen on. @default every interface */
  host?: string;
}

const DEPOSITS = [
  { id: "d-1", walletId: "10001", amount: "0.300000000000000000", trackingId: "order-1" },
  { id: "d-2", walletId: "10002", amount: "0.01500000", trackingId: "order-2" },
  { id: "d-3", walletId: "10001", amount: "1.250000000000000000", trackingId: "order-3" },
];

/** Starts the deposits subgraph; `url` is its GraphQL endpoint. */
export async function startDepositsSubgraph(options: DepositsOptions = {}): Promise<{ url: string; stop(): Promise<void> }> {
  const approverId = options.approverId ?? null;
  const resolvers = {
    Query: { recentDeposits: () => DEPOSITS },
    Deposit: {
      wallet: (deposit: { walletId: string }) => ({ __typename: "Wallet", id: deposit.walletId }),
      approvedBy: () => (approverId ? { __typename: "User", id: approverId } : null),
    },
    Wallet: {
      __resolveReference: (reference: { id: string }) => reference,
      deposits: (wallet: { id: string }) => DEPOSITS.filter((deposit) => deposit.walletId === wallet.id),
    },
  };
  const server = new ApolloServer({
    schema: buildSubgraphSchema({ typeDefs: parse(DEPOSITS_SDL), resolvers }),
    plugins: [ApolloServerPluginInlineTraceDisabled()],
  });
  const { url } = await startStandaloneServer(server, { listen: { port: options.port ?? 0, host: options.host } });
  return { url: new URL("/graphql", url).href, stop: () => server.stop() };
}
