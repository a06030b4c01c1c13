import type { GraphQLContext } from "../graphql/context.js";
import type { User } from "./user.entity.js";

/** Federation reference resolver: batched through the request's loader, null when not visible. */
export function resolveUserReference(reference: { id: unknown }, context: GraphQLContext): Promise<User | null> {
  if (typeof reference.id !== "string") return Promise.resolve(null);
  return context.loaders.users.load(reference.id);
}
