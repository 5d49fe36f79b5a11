// La connexion par un fournisseur (en-connections.ts), en français.
import type { enConnections } from "./en-connections.js";

export const frConnections: { readonly [K in keyof typeof enConnections]: string } = {
  "connection.sso_button": "l’authentification unique (SSO)",
  "connection.sso_title": "Se connecter par authentification unique",
  "connection.sso_lead":
    "Saisissez votre adresse e-mail professionnelle : nous vous enverrons vers la page de connexion de votre organisation, puis vers {app}.",
  "connection.sso_not_set_up":
    "L’authentification unique n’est pas configurée ici pour cette adresse. Revenez en arrière et connectez-vous autrement.",
  "connection.not_supported":
    "La connexion avec {provider} n’est pas encore prise en charge. Choisissez un autre moyen de vous connecter.",
  "connection.not_available":
    "Ce moyen de connexion n’est pas disponible pour cette application. Choisissez-en un autre.",

  "connection.proof_lead_typed":
    "Pour terminer la connexion, nous avons envoyé un code à 6 chiffres à {email}. Saisissez-le pour continuer vers {app}.",
  "connection.proof_lead_existing":
    "Un compte utilise déjà {email}. Pour vous y connecter de cette façon, nous avons envoyé un code à 6 chiffres à cette adresse : saisissez-le pour continuer vers {app}.",
  "connection.ask_title": "Quelle est votre adresse e-mail ?",
  "connection.ask_lead":
    "Votre fournisseur de connexion ne nous a pas communiqué votre adresse e-mail. Nous vous enverrons un code à 6 chiffres pour la confirmer avant de continuer vers {app}.",

  "connection.expired_title": "Cette connexion a expiré",
  "connection.expired_or_used_title": "Cette connexion a expiré ou a déjà été utilisée",
  "connection.sign_in_again": "Revenez à l’application et connectez-vous à nouveau.",
  "connection.other_browser_title": "Cette connexion a commencé dans un autre navigateur",
  "connection.other_browser": "Recommencez la connexion depuis ce navigateur.",
  "connection.option_gone_title": "Ce moyen de connexion n’est plus disponible",
  "connection.choose_another": "Choisissez un autre moyen de vous connecter.",
  "connection.cannot_sign_in_here_title": "Vous ne pouvez pas vous connecter ici",
  "connection.try_again_title": "Veuillez réessayer",
  "connection.try_again": "La connexion n’a pas abouti. Réessayez.",
  "connection.have_account_title": "Vous avez déjà un compte",
  "connection.have_account":
    "Un compte existe déjà avec cette adresse e-mail. Connectez-vous comme d’habitude.",
  "connection.have_account_not_linked":
    "Un compte existe déjà avec cette adresse e-mail. Connectez-vous comme d’habitude ; {provider} n’y est pas associé.",
  "connection.linked_elsewhere_title": "Ce compte est associé ailleurs",
  "connection.linked_elsewhere":
    "Ce compte du fournisseur de connexion est déjà associé à un autre compte. Connectez-vous comme d’habitude.",
  "connection.account_cannot_sign_in_title": "Ce compte ne peut pas se connecter",
  "connection.contact_admin": "Contactez l’administrateur de cette application.",
  "connection.administrator_title": "Connectez-vous avec votre mot de passe",
  "connection.administrator":
    "Cette adresse appartient à un compte administrateur. Les administrateurs ne peuvent pas se connecter par un fournisseur de connexion : connectez-vous avec votre mot de passe.",
  "connection.account_first_title": "Il vous faut d’abord un compte",
  "connection.account_first":
    "La connexion avec {provider} est réservée aux personnes qui ont déjà un compte ici. Demandez à l’administrateur de cette application de créer le vôtre, puis reconnectez-vous.",
  "connection.no_registrations_title": "Vous ne pouvez pas créer de compte ici",
  "connection.no_registrations":
    "Cette organisation n’accepte pas de nouveaux comptes. Demandez à son administrateur de vous ajouter.",

  "connection.cancelled_title": "La connexion a été annulée",
  "connection.cancelled":
    "{provider} ne vous a pas connecté. Vous pouvez réessayer ou choisir un autre moyen de vous connecter.",
  "connection.failed_title": "{provider} n’a pas pu vous connecter",
  "connection.provider_error":
    "{provider} a répondu par une erreur. Réessayez, ou choisissez un autre moyen de vous connecter.",
  "connection.unverified":
    "La réponse du fournisseur de connexion n’a pas pu être vérifiée. Réessayez, ou choisissez un autre moyen de vous connecter.",
  "connection.unreachable_title": "{provider} ne répond pas",
  "connection.unreachable":
    "Nous n’avons pas pu joindre {provider} pour vous connecter. Réessayez dans un instant, ou choisissez un autre moyen de vous connecter.",
};
