import { Field, ObjectType } from "type-graphql";

@ObjectType("Invitation", {
  description:
    "A one-time invitation to set a password, shown once: hand the token to the person (it is never shown again; a new one replaces it).",
})
export class InvitationObject {
  @Field(() => String, { description: "The secret to give to acceptInvitation; shown once." })
  token!: string;

  @Field(() => Date, { description: "After this the token is refused." })
  expiresAt!: Date;
}
