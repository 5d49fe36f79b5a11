// La page d’une organisation dans /account (src/account/organization*.ts), en français, partie de fr.ts.
import type { enOrganization } from "./en-organization.js";

export const frOrganization: { readonly [K in keyof typeof enOrganization]: string } = {
  "account_org.title": "{organization}",
  "account_org.lead":
    "La page de l’organisation. Ce que vous pouvez y faire dépend de vos rôles dans celle-ci.",
  "account_org.back": "Retour à votre compte",
  "account_org.details": "Informations",
  "account_org.name": "Nom",
  "account_org.save_name": "Enregistrer le nom",
  "account_org.name_needed": "Donnez un nom à l’organisation ({max} caractères au plus).",
  "account_org.members": "Membres",
  "account_org.no_members": "Aucun membre.",
  "account_org.you": "vous",
  "account_org.remove": "Retirer {who}",
  "account_org.invite": "Inviter quelqu’un",
  "account_org.invite_email": "Adresse e-mail",
  "account_org.invite_submit": "Envoyer l’invitation",
  "account_org.invite_bad_email": "Saisissez une adresse e-mail valide.",
  "account_org.invite_too_many": "Trop d’invitations pour le moment. Réessayez plus tard.",
  "account_org.more_members": "Seuls les {count} premiers membres sont affichés.",
  "account_org.saved": "Le nom de l’organisation est enregistré.",
  "account_org.invited": "L’invitation est envoyée.",
  "account_org.removed": "Le membre est retiré de l’organisation.",
  "account_org.not_member": "Cette personne ne fait plus partie de l’organisation.",
  "account_org.cannot_remove_self": "Vous ne pouvez pas vous retirer vous-même ici.",
  "account_org.not_found_title": "Organisation introuvable",
  "account_org.not_found": "Vous n’êtes pas membre de cette organisation, ou elle n’existe pas.",
  "account_org.forbidden_title": "Action non autorisée",
  "account_org.forbidden": "Vos rôles dans cette organisation ne le permettent pas.",
  "account_org.expired_title": "Ce formulaire a expiré",
  "account_org.expired": "Rouvrez la page de l’organisation et réessayez.",
};
