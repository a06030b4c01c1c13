import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { buildFederatedSchema, printFederatedSchema } from "../src/graphql/schema.js";

describe("schema/access.graphql", () => {
  it("is exactly the SDL the code builds (run `npm run schema` after changing the schema)", async () => {
    const built = printFederatedSchema(await buildFederatedSchema());
    const checkedIn = fs.readFileSync(new URL("../schema/access.graphql", import.meta.url), "utf8");
    expect(checkedIn).toBe(built);
  });
});
