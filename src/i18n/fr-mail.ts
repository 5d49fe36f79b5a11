// Les e-mails en français (src/mail/templates.ts), partie de fr.ts.
import type { enMail } from "./en-mail.js";

export const frMail: { readonly [K in keyof typeof enMail]: string } = {
  "time.days.one": "{count} jour",
  "time.days.other": "{count} jours",
  "mail.ignore":
    "Si vous n’avez pas cherché à {what}, vous pouvez ignorer ce message : rien ne change sans le code.",
  "mail.code_expires": "Le code expire dans {duration}.",
  "mail.verify_subject": "Confirmez votre adresse e-mail pour {business}",
  "mail.verify_lead": "Saisissez ce code pour confirmer que cette adresse est bien la vôtre :",
  "mail.verify_ignore": "vous inscrire à {business}",
  "mail.sign_in_subject": "Votre code de connexion à {business}",
  "mail.sign_in_heading": "Connexion à {business}",
  "mail.sign_in_lead": "Saisissez ce code pour vous connecter :",
  "mail.sign_in_ignore": "vous connecter à {business}",
  "mail.reset_subject": "Réinitialisez votre mot de passe {business}",
  "mail.reset_lead": "Saisissez ce code pour choisir un nouveau mot de passe :",
  "mail.reset_ignore": "réinitialiser votre mot de passe",
  "mail.changed_subject": "Votre mot de passe {business} a été modifié",
  "mail.changed_lead":
    "Le mot de passe du compte {business} {to} vient d’être modifié, et toutes les autres sessions de ce compte ont été déconnectées.",
  "mail.changed_not_you":
    "Si ce n’est pas vous, quelqu’un d’autre l’a peut-être fait : réinitialisez votre mot de passe depuis la page de connexion de {business} (« Mot de passe oublié ? ») et prévenez les administrateurs de {business}.",
  "mail.was_you": "Si c’était vous, vous n’avez rien d’autre à faire.",
  "mail.mfa_subject": "Votre code de vérification {business}",
  "mail.mfa_heading": "Confirmez que c’est bien vous qui vous connectez à {business}",
  "mail.mfa_lead": "Votre mot de passe a été accepté. Saisissez ce code pour terminer la connexion :",
  "mail.mfa_not_you":
    "Si vous n’êtes pas en train de vous connecter à {business}, quelqu’un d’autre connaît votre mot de passe : changez-le.",
  "mail.notice_subject": "Alerte de sécurité pour votre compte {business}",
  "mail.notice_recovery": "Un code de récupération a servi à se connecter au compte {business} {to}.",
  "mail.notice_remaining.one": "Il reste {count} code de récupération inutilisé.",
  "mail.notice_remaining.other": "Il reste {count} codes de récupération inutilisés.",
  "mail.notice_added": "Un nouveau second facteur ({factor}) a été ajouté au compte {business} {to}.",
  "mail.notice_an_app": "une application d’authentification",
  "mail.notice_sms": "des SMS au {phone}",
  "mail.notice_reset":
    "Les seconds facteurs du compte {business} {to} ont été supprimés, et ses autres sessions ont été déconnectées.",
  "mail.notice_not_you":
    "Si ce n’était pas vous, réinitialisez votre mot de passe depuis la page de connexion de {business} et prévenez les administrateurs de {business}.",
  "mail.invite_subject": "Vous êtes invité à rejoindre {where} sur {business}",
  "mail.invite_heading": "Rejoindre {where}",
  "mail.invite_by": "{inviter} vous invite à rejoindre {where} sur {business}.",
  "mail.invite_anonymous": "Vous êtes invité à rejoindre {where} sur {business}.",
  "mail.invite_expires": "L’invitation expire dans {duration}.",
  "mail.invite_accept": "Accepter l’invitation",
  "mail.invite_ignore": "Si vous n’attendiez pas cette invitation, vous pouvez l’ignorer.",
  "mail.test_subject": "Message de test de {business}",
  "mail.test_lead":
    "Le service de connexion de {business} a envoyé ce message pour vérifier ses réglages d’e-mail (`latchkey mail test`). S’il est arrivé dans votre boîte, ils fonctionnent.",
  "mail.test_footer": "Aucune action n’est nécessaire.",
} as const;
