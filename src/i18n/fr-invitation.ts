// Les pages du lien d’invitation (/team_invitation) en français, partie de fr.ts.
import type { enInvitation } from "./en-invitation.js";

export const frInvitation: { readonly [K in keyof typeof enInvitation]: string } = {
  "invitation.not_found_title": "Invitation introuvable",
  "invitation.not_found_message": "Ce lien d’invitation n’est pas valide. Vérifiez le lien dans l’e-mail.",
  "invitation.unavailable_title": "Invitation indisponible",
  "invitation.accepted_already":
    "Cette invitation a déjà été utilisée. Connectez-vous plutôt à l’application de l’organisation.",
  "invitation.revoked":
    "Cette invitation a été retirée. Demandez-en une nouvelle à la personne qui vous a invité.",
  "invitation.expired":
    "Cette invitation a expiré. Demandez-en une nouvelle à la personne qui vous a invité.",
  "invitation.off_title": "Invitations indisponibles",
  "invitation.off_message": "Accepter une invitation nécessite ISSUER_URL en https (ou http sur localhost).",
  "invitation.failed_title": "L’invitation n’a pas été acceptée",
  "invitation.not_this_browser":
    "Cette page n’a pas été ouverte depuis un lien d’invitation dans ce navigateur, ou a mis trop de temps.",
  "invitation.other_server": "Cette réponse vient d’un autre serveur.",
  "invitation.did_not_finish": "La connexion n’est pas allée jusqu’au bout.",
  "invitation.not_for_page": "Cette réponse n’est pas destinée à cette page. Rouvrez le lien d’invitation.",
  "invitation.not_for_browser": "Cette réponse n’est pas destinée à ce navigateur.",
  "invitation.accepted_title": "Invitation acceptée",
  "invitation.sign_in_lead": "pour accepter l’invitation à rejoindre {organization}",
  "invitation.other_address":
    "Cette invitation est destinée à {email}. Connectez-vous ou créez un compte avec cette adresse.",
  "invitation.joined": "Vous avez rejoint {name}",
  "invitation.joined_lead":
    "L’invitation est acceptée. Connectez-vous à l’application de {name} pour commencer ; vous pouvez fermer cette page.",
} as const;
