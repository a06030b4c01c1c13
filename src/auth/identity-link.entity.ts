import { Entity, ManyToOne, OptionalProps, PrimaryKey, Property, Unique, type Rel } from "@mikro-orm/core";
import { randomUUID } from "node:crypto";
import { User } from "../access/user.entity.js";

/**
 * Which user an identity provider's subject is: made when the user accepts an invitation with the provider's
 * token (never from an e-mail claim). A subject of an issuer names one user; a user has one subject per issuer.
 */
@Entity({ tableName: "identity_link" })
@Unique({ name: "identity_link_issuer_subject_unique", properties: ["issuer", "subject"] })
@Unique({ name: "identity_link_user_issuer_unique", properties: ["user", "issuer"] })
export class IdentityLink {
  [OptionalProps]?: "createdAt";

  @PrimaryKey({ type: "string", length: 36 })
  id: string = randomUUID();

  @ManyToOne(() => User, { deleteRule: "cascade", index: false })
  user!: Rel<User>;

  @Property({ type: "string", length: 255 })
  issuer!: string;

  @Property({ type: "string", length: 255 })
  subject!: string;

  @Property({ type: "datetime" })
  createdAt: Date = new Date();
}
