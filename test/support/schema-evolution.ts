import { buildSubgraphSchema } from "@apollo/subgraph";
import {
  BreakingChangeType,
  findBreakingChanges,
  findDangerousChanges,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isObjectType,
  Kind,
  parse,
  print,
  type GraphQLSchema,
} from "graphql";

/** A breaking change a release makes on purpose, with the note that tells clients about it. */
export interface DeclaredChange {
  /** The change exactly as the comparison describes it, e.g. `Viewer.isOwner was removed.` */
  change: string;
  /** Why, and what clients do about it: the release note. */
  reason: string;
}

/** What changed from the released SDL to the current one, sorted by what the check does with it. */
export interface SchemaEvolution {
  /** Breaking changes neither deprecated in the released SDL nor declared: each fails the check. */
  undeclared: string[];
  /** Declared changes that are no longer a difference: each fails the check, so declarations do not pile up. */
  stale: string[];
  /** Changes that break no valid operation but may surprise a client (a new enum value): warnings. */
  dangerous: string[];
}

/** Federation directives other subgraphs and the router rely on: removing one breaks the supergraph. */
const FEDERATION_CONTRACT = new Set(["key", "shareable"]);

/** Kinds of removal that the released SDL may announce with `@deprecated`. */
const REMOVALS = new Set<string>([
  BreakingChangeType.FIELD_REMOVED,
  BreakingChangeType.ARG_REMOVED,
  BreakingChangeType.VALUE_REMOVED_FROM_ENUM,
]);

function subgraphSchema(sdl: string): GraphQLSchema {
  return buildSubgraphSchema(parse(sdl));
}

/** The removals the released schema announced: what each one's breaking change says. */
function announcedRemovals(released: GraphQLSchema): Set<string> {
  const announced = new Set<string>();
  for (const type of Object.values(released.getTypeMap())) {
    if (isObjectType(type) || isInterfaceType(type) || isInputObjectType(type)) {
      for (const field of Object.values(type.getFields())) {
        if (field.deprecationReason != null) announced.add(`${type.name}.${field.name} was removed.`);
        for (const arg of "args" in field ? field.args : []) {
          if (arg.deprecationReason != null) announced.add(`${type.name}.${field.name} arg ${arg.name} was removed.`);
        }
      }
    } else if (isEnumType(type)) {
      for (const value of type.getValues()) {
        if (value.deprecationReason != null) announced.add(`${value.name} was removed from enum type ${type.name}.`);
      }
    }
  }
  return announced;
}

/**
 * Every federation contract directive in the SDL, as `@key(fields: "id") on Wallet` or
 * `@shareable on PageInfo.hasNextPage`.
 */
function federationContract(sdl: string): Set<string> {
  const found = new Set<string>();
  for (const definition of parse(sdl).definitions) {
    if (!("name" in definition) || definition.name === undefined) continue;
    const owners = [{ path: definition.name.value, directives: definition.directives ?? [] }];
    if (definition.kind === Kind.OBJECT_TYPE_DEFINITION || definition.kind === Kind.OBJECT_TYPE_EXTENSION) {
      for (const field of definition.fields ?? []) {
        owners.push({ path: `${definition.name.value}.${field.name.value}`, directives: field.directives ?? [] });
      }
    }
    for (const { path, directives } of owners) {
      for (const directive of directives) {
        if (FEDERATION_CONTRACT.has(directive.name.value)) found.add(`${print(directive)} on ${path}`);
      }
    }
  }
  return found;
}

/**
 * Compares the current subgraph SDL with the released one, both built as federation subgraphs. A breaking change
 * passes when it removes what the released SDL marked `@deprecated`, or when it is declared.
 */
export function compareSchemas(releasedSdl: string, currentSdl: string, declared: DeclaredChange[]): SchemaEvolution {
  const released = subgraphSchema(releasedSdl);
  const current = subgraphSchema(currentSdl);
  const announced = announcedRemovals(released);
  const currentContract = federationContract(currentSdl);
  const breaking = [
    ...findBreakingChanges(released, current)
      .filter((change) => !(REMOVALS.has(change.type) && announced.has(change.description)))
      .map((change) => change.description),
    ...[...federationContract(releasedSdl)]
      .filter((directive) => !currentContract.has(directive))
      .map((directive) => `${directive} was removed.`),
  ];
  const declaredChanges = new Set(declared.map((entry) => entry.change));
  return {
    undeclared: breaking.filter((change) => !declaredChanges.has(change)),
    stale: [...declaredChanges].filter((change) => !breaking.includes(change)),
    dangerous: findDangerousChanges(released, current).map((change) => change.description),
  };
}
