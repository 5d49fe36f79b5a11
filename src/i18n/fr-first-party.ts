// Pourquoi les pages de Latchkey (/account, /device) n’ont pas repris une connexion (en-first-party.ts).
import type { enFirstParty } from "./en-first-party.js";

export const frFirstParty: { readonly [K in keyof typeof enFirstParty]: string } = {
  "first_party.not_started_here":
    "Cette connexion n’a pas commencé dans ce navigateur, ou a pris trop de temps. Réessayez.",
  "first_party.other_server": "Cette connexion est revenue d’un autre serveur.",
  "first_party.did_not_finish": "La connexion n’a pas abouti.",
  "first_party.used": "Cette connexion a déjà été utilisée. Réessayez.",
  "first_party.not_ours": "Cette connexion ne vient pas de cette page.",
  "first_party.too_long": "Cette connexion a pris trop de temps. Réessayez.",
  "first_party.other_browser": "Cette connexion n’a pas commencé dans ce navigateur.",
  "first_party.other_session": "Cette connexion appartient à une autre session de navigateur. Réessayez.",
};
