import { ApolloGateway, RemoteGraphQLDataSource } from "@apollo/gateway";
import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";

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
