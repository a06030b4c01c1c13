import { maxAliasesRule } from "@escape.tech/graphql-armor-max-aliases";
import { maxDepthRule } from "@escape.tech/graphql-armor-max-depth";
import { maxDirectivesRule } from "@escape.tech/graphql-armor-max-directives";
import {
  GraphQLError,
  Kind,
  type DocumentNode,
  type FragmentDefinitionNode,
  type OperationDefinitionNode,
  type ParseOptions,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
} from "graphql";
import type { Config } from "../config.js";

/**
 * The rules every GraphQL document meets before it runs, on every transport (HTTP, graphql-ws, the router's
 * callback mode): a bounded parse, the validation limits, who may run what anonymously, and sensitive mutations
 * one at a time.
 */
export interface OperationRules {
  /** graphql-js stops parsing past `maxTokens`: a huge document costs no more than the limit. */
  parseOptions: ParseOptions;
  /** The limits beside graphql-js's own rules: depth, aliases, directives. */
  validationRules: ValidationRule[];
  /**
   * Root fields that must be sent alone: each spends a one-time code or reveals a secret, and is audited on its
   * own.
   */
  sensitiveFields: ReadonlySet<string>;
  /** Root fields answered without a token, in every environment (over HTTP; graphql-ws needs a token for all). */
  publicFields: ReadonlySet<string>;
  /** True outside production: introspection and `_service` may run without a token. */
  anonymousIntrospection: boolean;
}

export function operationRules(
  config: Pick<Config, "graphql" | "production">,
  sensitiveFields: readonly string[],
  publicFields: readonly string[] = [],
): OperationRules {
  // Report through the validation context (a validation error for the client), instead of throwing.
  const report = {
    propagateOnRejection: false,
    onReject: [(context: ValidationContext | null, error: GraphQLError) => context?.reportError(error)],
  };
  return {
    parseOptions: { maxTokens: config.graphql.maxTokens },
    validationRules: [
      maxDepthRule({ n: config.graphql.maxDepth, ...report }),
      maxAliasesRule({ n: config.graphql.maxAliases, ...report }),
      maxDirectivesRule({ n: config.graphql.maxDirectives, ...report }),
    ],
    sensitiveFields: new Set(sensitiveFields),
    publicFields: new Set(publicFields),
    anonymousIntrospection: !config.production,
  };
}

/** Root fields answered without a token outside production: introspection and the federation SDL. */
const ANONYMOUS_FIELDS = new Set(["__typename", "__schema", "__type", "_service"]);

/**
 * True when an operation may run without a viewer: it selects only `__typename`, public fields, and introspection
 * outside production.
 */
export function isAnonymousOperation(operation: OperationDefinitionNode, rules: OperationRules): boolean {
  return operation.selectionSet.selections.every(
    (selection) =>
      selection.kind === Kind.FIELD &&
      (selection.name.value === "__typename" ||
        rules.publicFields.has(selection.name.value) ||
        (rules.anonymousIntrospection && ANONYMOUS_FIELDS.has(selection.name.value))),
  );
}

/** The root field names an operation selects, looking through fragments. */
function rootFieldNames(operation: OperationDefinitionNode, document: DocumentNode): string[] {
  const fragments = new Map(
    document.definitions
      .filter((definition): definition is FragmentDefinitionNode => definition.kind === Kind.FRAGMENT_DEFINITION)
      .map((fragment) => [fragment.name.value, fragment]),
  );
  const names: string[] = [];
  const seen = new Set<string>();
  const walk = (selectionSet: SelectionSetNode) => {
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) names.push(selection.name.value);
      else if (selection.kind === Kind.INLINE_FRAGMENT) walk(selection.selectionSet);
      else if (!seen.has(selection.name.value)) {
        seen.add(selection.name.value);
        const fragment = fragments.get(selection.name.value);
        if (fragment) walk(fragment.selectionSet);
      }
    }
  };
  walk(operation.selectionSet);
  return names;
}

/**
 * The refusal of an operation that selects a sensitive root field beside any other root field (aliases must not
 * multiply guesses), or null.
 */
export function sensitiveFieldRefusal(
  operation: OperationDefinitionNode,
  document: DocumentNode,
  rules: OperationRules,
): GraphQLError | null {
  const names = rootFieldNames(operation, document);
  if (names.length > 1 && names.some((name) => rules.sensitiveFields.has(name))) {
    return new GraphQLError(`${[...rules.sensitiveFields].join(", ")} must be sent alone, one per request`, {
      extensions: { code: "BAD_USER_INPUT", http: { status: 400 } },
    });
  }
  return null;
}
