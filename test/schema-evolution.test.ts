import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { compareSchemas, type DeclaredChange } from "./support/schema-evolution.js";

const read = (file: string) => fs.readFileSync(new URL(`../schema/${file}`, import.meta.url), "utf8");

describe("schema/access.graphql against the released SDL (schema/released/access.graphql)", () => {
  const declared = JSON.parse(read("declared-changes.json")) as DeclaredChange[];

  it("declares every change with its release note", () => {
    expect(Array.isArray(declared)).toBe(true);
    for (const entry of declared) {
      expect(Object.keys(entry).sort()).toEqual(["change", "reason"]);
      expect(entry.change.trim()).not.toBe("");
      expect(entry.reason.trim()).not.toBe("");
    }
  });

  it("breaks nothing that was not deprecated first or declared, and declares nothing that is not a change", () => {
    const evolution = compareSchemas(read("released/access.graphql"), read("access.graphql"), declared);
    for (const change of evolution.dangerous) process.stderr.write(`schema evolution warning: ${change}\n`);
    expect(evolution.undeclared).toEqual([]);
    expect(evolution.stale).toEqual([]);
  });
});

describe("the schema evolution check", () => {
  const subgraph = (body: string) => `
    extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@shareable"])
    type Query { wallet(id: ID!): Wallet }
    type Wallet @key(fields: "id") { id: ID! ${body} }
    type User @key(fields: "id") { id: ID! }
    enum TransferStatus { PENDING CONFIRMED }
    type Transfer { status: TransferStatus! }
    type PageInfo @shareable { hasNextPage: Boolean! }
  `;
  const note = "clients read balance instead";

  const cases: {
    name: string;
    released: string;
    current: string;
    declared?: DeclaredChange[];
    undeclared?: string[];
    stale?: string[];
    dangerous?: string[];
  }[] = [
    {
      name: "fails on a removed field",
      released: subgraph("name: String!"),
      current: subgraph(""),
      undeclared: ["Wallet.name was removed."],
    },
    {
      name: "passes a removed field the released SDL deprecated",
      released: subgraph('name: String! @deprecated(reason: "use label")'),
      current: subgraph(""),
    },
    {
      name: "fails on a removed argument the released SDL did not deprecate",
      released: subgraph("balance(asset: String): String"),
      current: subgraph("balance: String"),
      undeclared: ["Wallet.balance arg asset was removed."],
    },
    {
      name: "passes a removed argument the released SDL deprecated",
      released: subgraph('balance(asset: String @deprecated(reason: "one asset")): String'),
      current: subgraph("balance: String"),
    },
    {
      name: "fails on an output field made nullable",
      released: subgraph("name: String!"),
      current: subgraph("name: String"),
      undeclared: ["Wallet.name changed type from String! to String."],
    },
    {
      name: "passes an output field made nullable when declared",
      released: subgraph("name: String!"),
      current: subgraph("name: String"),
      declared: [{ change: "Wallet.name changed type from String! to String.", reason: note }],
    },
    {
      name: "passes an added optional argument, with a warning",
      released: subgraph("balance: String"),
      current: subgraph("balance(asset: String): String"),
      dangerous: ["An optional arg asset on Wallet.balance was added."],
    },
    {
      name: "passes an added enum value, with a warning",
      released: subgraph(""),
      current: subgraph("").replace("CONFIRMED }", "CONFIRMED UNKNOWN }"),
      dangerous: ["UNKNOWN was added to enum type TransferStatus."],
    },
    {
      name: "fails on a removed @key",
      released: subgraph(""),
      current: subgraph("").replace('@key(fields: "id")', ""),
      undeclared: ["Wallet was removed from union type _Entity.", '@key(fields: "id") on Wallet was removed.'],
    },
    {
      name: "fails on a removed @shareable",
      released: subgraph(""),
      current: subgraph("").replace("PageInfo @shareable", "PageInfo"),
      undeclared: ["@shareable on PageInfo was removed."],
    },
    {
      name: "fails on a stale declaration",
      released: subgraph("name: String!"),
      current: subgraph("name: String!"),
      declared: [{ change: "Wallet.name changed type from String! to String.", reason: note }],
      stale: ["Wallet.name changed type from String! to String."],
    },
  ];

  it.each(cases)("$name", ({ released, current, declared = [], undeclared = [], stale = [], dangerous = [] }) => {
    expect(compareSchemas(released, current, declared)).toEqual({ undeclared, stale, dangerous });
  });
});
