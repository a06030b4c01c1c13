import { Field, ObjectType, type ClassType } from "type-graphql";
import { PageInfoObject } from "./page-info.js";

/** The Relay `<Name>Edge` and `<Name>Connection` types of a node type. */
export function connectionTypes<Node extends object>(name: string, node: ClassType<Node>) {
  @ObjectType(`${name}Edge`)
  class Edge {
    @Field(() => node)
    node!: Node;

    @Field(() => String)
    cursor!: string;
  }

  @ObjectType(`${name}Connection`)
  class Connection {
    @Field(() => [Edge])
    edges!: Edge[];

    @Field(() => PageInfoObject)
    pageInfo!: PageInfoObject;
  }

  return { Edge, Connection };
}
