import { Entity, OptionalProps, PrimaryKey, Property } from "@mikro-orm/core";

/**
 * A provisioning request already carried out, by its request key: the same key again with the same request gets
 * the same answer (without repeating the change), with another request a refusal.
 */
@Entity({ tableName: "provisioning_request" })
export class ProvisioningRequest {
  [OptionalProps]?: "createdAt";

  @PrimaryKey({ type: "string", length: 128 })
  key!: string;

  @Property({ type: "string", length: 64 })
  operation!: string;

  /** SHA-256 (hex) of the request's canonical JSON. */
  @Property({ type: "string", length: 64 })
  requestHash!: string;

  /** The answer given, as JSON, without any secret (those are shown once). */
  @Property({ type: "text" })
  result!: string;

  @Property({ type: "datetime" })
  createdAt: Date = new Date();
}
