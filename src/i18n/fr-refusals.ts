// Pourquoi une personne connue ne peut pas se connecter à cette application (en-refusals.ts).
import type { enRefusals } from "./en-refusals.js";

export const frRefusals: { readonly [K in keyof typeof enRefusals]: string } = {
  "refusal.not_member": "Ce compte n’est pas membre de l’organisation à laquelle vous vous connectez.",
  "refusal.no_access_role":
    "Votre compte n’a aucun rôle autorisé à utiliser cette application. Demandez l’accès à un administrateur de votre organisation.",
};
