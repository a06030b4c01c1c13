import { composeServices, type CompositionResult } from "@apollo/composition";
import { parse } from "graphql";
import fs from "node:fs";
import path from "node:path";
import { parse as parseYaml } from "yaml";
import { repositoryFile } from "./repository.js";

/** rover's composition config, checked in: which subgraphs make the supergraph, where they run, their SDL. */
export const SUPERGRAPH_YAML = repositoryFile("router/supergraph.yaml");

export interface SubgraphDefinition {
  name: string;
  url: string;
  sdl: string;
}

/**
 * The subgraphs of `router/supergraph.yaml` (or another file in rover's format), each with the SDL of the file it
 * names (relative to the config, as rover reads it), at its `routing_url` unless `urls` names another.
 */
export function subgraphsOfSupergraphYaml(urls: Record<string, string> = {}, file = SUPERGRAPH_YAML): SubgraphDefinition[] {
  const config = parseYaml(fs.readFileSync(file, "utf8")) as {
    subgraphs: Record<string, { routing_url: string; schema: { file: string } }>;
  };
  return Object.entries(config.subgraphs).map(([name, subgraph]) => ({
    name,
    url: urls[name] ?? subgraph.routing_url,
    sdl: fs.readFileSync(path.resolve(path.dirname(file), subgraph.schema.file), "utf8"),
  }));
}

/** Composes subgraphs into a supergraph the way rover or a schema registry does. */
export function compose(subgraphs: SubgraphDefinition[]): CompositionResult {
  return composeServices(subgraphs.map(({ name, url, sdl }) => ({ name, url, typeDefs: parse(sdl) })));
}
