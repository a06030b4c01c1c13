import { composeServices } from "@apollo/composition";
import { ApolloGateway, RemoteGraphQLDataSource } from "@apollo/gateway";
import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";
import { parse } from "graphql";
import fs from "node:fs";
import path from "node:path";
import { parse as parseYaml } from "yaml";

export interface SubgraphDefinition {
  name: string;
  url: string;
  sdl: string;
}

/** Composes subgraphs into a supergraph the way rover or a schema registry does. */
export function compose(subgraphs: SubgraphDefinition[]) {
  return composeServices(subgraphs.map(({ name, url, sdl }) => ({ name, url, typeDefs: parse(sdl) })));
}

/** The subgraphs of the checked-in `router/supergraph.yaml`, at the given URLs. */
export function subgraphsOfSupergraphYaml(urls: Record<string, string>): SubgraphDefinition[] {
  const file = new URL("../../router/supergraph.yaml", import.meta.url);
  const config = parseYaml(fs.readFileSync(file, "utf8")) as {
    subgraphs: Record<string, { routing_url: string; schema: { file: string } }>;
  };
  return Object.entries(config.subgraphs).map(([name, subgraph]) => ({
    name,
    url: urls[name] ?? subgraph.routing_url,
    sdl: fs.readFileSync(path.resolve(path.dirname(file.pathname), subgraph.schema.file), "utf8"),
  }));
}

/**
 * An @apollo/gateway on port 0 serving the given supergraph, forwarding to every subgraph, as a router does, the
 * client's Authorization header and its address (appended to any X-Forwarded-For it received).
 */
export async function startApolloGateway(supergraphSdl: string): Promise<{ url: string; stop(): Promise<void> }> {
  const gateway = new ApolloGateway({
    supergraphSdl,
    buildService: ({ url }) =>
      new RemoteGraphQLDataSource<{ authorization?: string; forwardedFor?: string }>({
        url,
        willSendRequest({ request, context }) {
          if (context.authorization) request.http?.headers.set("authorization", context.authorization);
          if (context.forwardedFor) request.http?.headers.set("x-forwarded-for", context.forwardedFor);
        },
      }),
  });
  const server = new ApolloServer({ gateway });
  const { url } = await startStandaloneServer(server, {
    listen: { port: 0, host: "127.0.0.1" },
    context: async ({ req }) => {
      const received = req.headers["x-forwarded-for"];
      const peer = req.socket.remoteAddress ?? "";
      return {
        authorization: req.headers.authorization,
        forwardedFor: [received, peer].filter(Boolean).join(", "),
      };
    },
  });
  return { url: url.replace(/\/$/, ""), stop: () => server.stop() };
}
