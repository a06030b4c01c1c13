import { buildSubgraphSchema, printSubgraphSchema } from "@apollo/subgraph";
import type { GraphQLResolverMap } from "@apollo/subgraph/dist/schema-helper/resolverMap.js";
import { createPubSub } from "@graphql-yoga/subscription";
import { printSchemaWithDirectives } from "@graphql-tools/utils";
import { parse, type GraphQLSchema } from "graphql";
import { buildSchema, createResolversMap } from "type-graphql";
import { AccessResolver } from "../access/access.resolver.js";
import { AuditResolver } from "../audit/audit.resolver.js";
import { CallbackEventResolver } from "../callbacks/callback-event.resolver.js";
import { CredentialsResolver } from "../credentials/credentials.resolver.js";
import { EnrolmentResolver, ViewerFactorsResolver } from "../enrolment/enrolment.resolver.js";
import { resolveUserReference } from "../access/user.reference.js";
import { resolveWalletReference } from "../wallets/wallet.reference.js";
import { WalletResolver } from "../wallets/wallet.resolver.js";

/** The federation spec version and the directives this subgraph uses. */
const FEDERATION_LINK =
  'extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@shareable"])';

/** Reference resolvers of the entity types this subgraph owns. */
const references = {
  Wallet: { __resolveReference: resolveWalletReference },
  User: { __resolveReference: resolveUserReference },
};

/**
 * Builds the federation v2 subgraph schema from the code-first type-graphql definitions: print them with their
 * directives, add the federation `@link`, and let @apollo/subgraph add `_service` and `_entities`.
 */
export async function buildFederatedSchema(): Promise<GraphQLSchema> {
  const schema = await buildSchema({
    resolvers: [
      WalletResolver,
      AccessResolver,
      CredentialsResolver,
      AuditResolver,
      CallbackEventResolver,
      EnrolmentResolver,
      ViewerFactorsResolver,
    ],
    validate: false,
    skipCheck: true,
    // Subscriptions bring their own event sources; type-graphql insists on a pub/sub all the same.
    pubSub: createPubSub(),
  });
  const typeDefs = parse(`${FEDERATION_LINK}\n\n${printSchemaWithDirectives(schema)}`);
  const resolvers = createResolversMap(schema) as Record<string, Record<string, unknown>>;
  for (const [typeName, resolver] of Object.entries(references)) {
    resolvers[typeName] = { ...resolvers[typeName], ...resolver };
  }
  return buildSubgraphSchema({ typeDefs, resolvers: resolvers as GraphQLResolverMap<unknown> });
}

/** The subgraph SDL as a router or composition tool sees it. */
export function printFederatedSchema(schema: GraphQLSchema): string {
  return `${printSubgraphSchema(schema).trim()}\n`;
}
