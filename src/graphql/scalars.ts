import { GraphQLError, GraphQLScalarType, Kind } from "graphql";

const DECIMAL = /^-?\d{1,40}(\.\d{1,40})?$/;

function parseDecimal(value: unknown): string {
  if (typeof value !== "string" || !DECIMAL.test(value)) {
    throw new GraphQLError("Decimal must be a string of digits with an optional sign and fraction, e.g. \"0.300000\"");
  }
  return value;
}

/** An exact decimal number carried as a string (e.g. "0.300000000000000000"), never a float. */
export const DecimalScalar = new GraphQLScalarType({
  name: "Decimal",
  description: 'An exact decimal number as a string, e.g. "0.300000000000000000"; never a float.',
  serialize: (value) => parseDecimal(value),
  parseValue: (value) => parseDecimal(value),
  parseLiteral: (ast) => {
    if (ast.kind !== Kind.STRING) throw new GraphQLError("Decimal must be given as a string");
    return parseDecimal(ast.value);
  },
});
