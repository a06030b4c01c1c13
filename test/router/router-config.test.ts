import { Ajv, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { repositoryFile } from "../../router/repository.js";

/**
 * Apollo Router's configurations, checked against the JSON Schema Apollo Router 2.13.1 generates from its own
 * source for its YAML (router/apollo-router-2.13.1.config.schema.json, a copy): unknown keys, misplaced sections
 * and wrong protocol names are refused, as the router refuses them at start. The router binary is not run here.
 */
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;
const ROUTER_FOLDER = repositoryFile("router");
/** rover's composition config lives beside them; it is no router configuration. */
const NOT_ROUTER_CONFIGS = ["supergraph.yaml"];

function routerSchema(): ValidateFunction {
  const schema = JSON.parse(fs.readFileSync(path.join(ROUTER_FOLDER, "apollo-router-2.13.1.config.schema.json"), "utf8")) as object;
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  // The Rust integer formats of the schema's generator.
  const unsigned = (max: number) => ({ type: "number" as const, validate: (value: number) => Number.isInteger(value) && value >= 0 && value <= max });
  ajv.addFormat("uint", unsigned(Number.MAX_SAFE_INTEGER));
  ajv.addFormat("uint32", unsigned(2 ** 32 - 1));
  ajv.addFormat("uint64", unsigned(Number.MAX_SAFE_INTEGER));
  return ajv.compile(schema);
}

const validate = routerSchema();
const errorsOf = (config: unknown) => (validate(config) ? [] : (validate.errors ?? []).map((error) => `${error.instancePath} ${error.message} ${JSON.stringify(error.params)}`));
const configs = fs
  .readdirSync(ROUTER_FOLDER)
  .filter((name) => /\.ya?ml$/.test(name) && !NOT_ROUTER_CONFIGS.includes(name))
  .sort();
const load = (name: string) => parseYaml(fs.readFileSync(path.join(ROUTER_FOLDER, name), "utf8")) as Record<string, Record<string, unknown>>;

describe("Apollo Router configurations in router/", () => {
  it("are the passthrough and the callback-mode one", () => {
    expect(configs).toEqual(["router.callback.yaml", "router.yaml"]);
  });

  it.each(configs)("%s is valid for Apollo Router 2.13.1", (name) => {
    expect(errorsOf(load(name))).toEqual([]);
  });

  type Config = Record<string, Record<string, unknown>>;
  const spoiled: [string, (config: Config) => void, string][] = [
    [
      "an unknown key",
      (config) => void (config.supergraph!.introspectionn = true),
      '/supergraph must NOT have additional properties {"additionalProperty":"introspectionn"}',
    ],
    [
      "an unknown section",
      (config) => void (config.subscriptions = config.subscription!),
      ' must NOT have additional properties {"additionalProperty":"subscriptions"}',
    ],
    [
      "a protocol the router does not speak",
      (config) => {
        const passthrough = (config.subscription!.mode as { passthrough: { subgraphs: { access: { protocol: string } } } }).passthrough;
        passthrough.subgraphs.access.protocol = "graphql-ws";
      },
      "/subscription/mode/passthrough/subgraphs/access/protocol must be equal to constant",
    ],
  ];
  it.each(spoiled)("refuses router.yaml with %s", (_name, spoil, error) => {
    const config = load("router.yaml");
    spoil(config);
    expect(errorsOf(config).join("\n")).toContain(error);
  });
});
