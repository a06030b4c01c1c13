import "reflect-metadata";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { buildFederatedSchema, printFederatedSchema } from "./schema.js";

/** Where the checked-in subgraph SDL lives. */
export const SCHEMA_FILE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../schema/access.graphql");

const sdl = printFederatedSchema(await buildFederatedSchema());
fs.writeFileSync(SCHEMA_FILE, sdl);
console.log(`wrote ${path.relative(process.cwd(), SCHEMA_FILE)}`);
