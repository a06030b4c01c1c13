import type { GraphQLContext } from "../graphql/context.js";
import type { Wallet } from "./wallet.entity.js";

/** Federation reference resolver: batched through the request's loader, null when not visible. */
export function resolveWalletReference(reference: { id: unknown }, context: GraphQLContext): Promise<Wallet | null> {
  if (typeof reference.id !== "string") return Promise.resolve(null);
  return context.loaders.wallets.load(reference.id);
}
