// Le texte des pages hébergées en français (issue 20). Mêmes clés que en.ts, mêmes `{valeurs}`;
// une clé absente ou en trop ne compile pas (type Messages), un `{nom}` oublié fait échouer
// tests/i18n/catalogue.test.ts.
import type { Messages } from "./en.js";
import { frAccount } from "./fr-account.js";
import { frConnections } from "./fr-connections.js";
import { frDevice } from "./fr-device.js";
import { frFirstParty } from "./fr-first-party.js";
import { frInvitation } from "./fr-invitation.js";
import { frMail } from "./fr-mail.js";
import { frMfaChecks } from "./fr-mfa-checks.js";
import { frOrganization } from "./fr-organization.js";
import { frPasskeySignIn } from "./fr-passkey-sign-in.js";
import { frRefusals } from "./fr-refusals.js";

export const fr: Messages = {
  ...frOrganization,
  ...frMfaChecks,
  ...frRefusals,
  ...frAccount,
  ...frDevice,
  ...frInvitation,
  ...frMail,
  ...frConnections,
  ...frFirstParty,
  ...frPasskeySignIn,
  "form.cross_site_title": "Ce formulaire vient d’un autre site",
  "form.cross_site_message":
    "Pour votre sécurité, ce formulaire n’est accepté que depuis les pages de ce site. Revenez à l’application et réessayez.",
  "form.email": "Adresse e-mail",
  "form.password": "Mot de passe",
  "form.new_password": "Nouveau mot de passe",
  "form.password_hint": "Au moins 8 caractères.",
  "form.code": "Code",
  "form.continue": "Continuer",
  "form.or": "ou",
  "form.back_to_sign_in": "Retour à la connexion",
  // The footer of every hosted page (src/http/html.ts): the business's policy links.
  "footer.privacy": "Politique de confidentialité",
  "footer.terms": "Conditions d’utilisation",
  "form.session_expired": "Votre session sur cette page a expiré. Veuillez réessayer.",
  "form.invalid_email": "Saisissez une adresse e-mail valide.",
  "form.invalid_email_because": "Saisissez une adresse e-mail valide ({problem}).",
  "problem.email_not_valid": "celle-ci n’est pas valide",
  "problem.email_full_width":
    "elle contient des caractères pleine chasse ou de compatibilité avant le @ ; saisissez-la avec des caractères ordinaires",
  "problem.email_bad_domain": "son domaine n’est pas un nom de domaine internationalisé valide",
  "form.choose_another_password": "Choisissez un autre mot de passe. {problem}",
  "form.password_too_short": "Utilisez au moins {min} caractères.",
  "form.password_too_long": "Utilisez au plus {max} caractères.",
  "form.password_too_common":
    "Ce mot de passe est trop courant (il figure dans des listes de mots de passe divulgués).",
  "form.too_many_from_network": "Trop de tentatives depuis votre réseau. Réessayez plus tard.",

  "time.hours.one": "{count} heure",
  "time.hours.other": "{count} heures",
  "time.minutes.one": "{count} minute",
  "time.minutes.other": "{count} minutes",

  "sign_in.title": "Connexion",
  "sign_in.lead": "pour continuer vers {app}",
  "sign_in.submit": "Se connecter",
  "sign_in.no_account": "Pas encore de compte ?",
  "sign_in.create_one": "Créez-en un",
  "sign_in.forgot_password": "Mot de passe oublié ?",
  "sign_in.email_me_code": "Recevoir un code de connexion par e-mail",
  "sign_in.no_password_yet":
    "Pas encore de mot de passe, parce que quelqu’un a créé votre compte pour vous ? Choisissez-en un avec « Mot de passe oublié ? ».",
  "sign_in.code_first": "Connectez-vous d’abord à {app} avec un code reçu par e-mail, puis rouvrez ce lien.",
  "sign_in.code_hint":
    "Nous vous enverrons par e-mail un code à 6 chiffres pour vous connecter, sans mot de passe.",
  "sign_in.continue_with": "Continuer avec {provider}",
  "sign_in.the_application": "l’application",
  "sign_in.enter_email_and_password": "Saisissez votre adresse e-mail et votre mot de passe.",
  "sign_in.incorrect": "Adresse e-mail ou mot de passe incorrect.",
  "sign_in.no_password_hint":
    "Si vous n’avez pas encore de mot de passe, choisissez-en un avec « Mot de passe oublié ? ».",
  "sign_in.too_many_network_today":
    "Trop de connexions échouées depuis votre réseau aujourd’hui. Réessayez dans {wait}.",
  "sign_in.too_many_attempts": "Trop de tentatives de connexion. Réessayez dans {wait}.",
  "sign_in.password_off":
    "La connexion par mot de passe est désactivée ici. Nous pouvons plutôt vous envoyer par e-mail un code à 6 chiffres pour vous connecter.",
  "sign_in.email_code_off":
    "La connexion par code envoyé par e-mail est désactivée ici. Connectez-vous avec votre mot de passe.",
  "sign_in.reset_off":
    "Les mots de passe ne servent pas à se connecter ici : il n’y en a donc aucun à réinitialiser. Nous pouvons plutôt vous envoyer par e-mail un code à 6 chiffres pour vous connecter.",
  "sign_in.expired_title": "Cette page de connexion a expiré",
  "sign_in.expired_message": "Revenez à l’application et recommencez la connexion.",
  "sign_in.invalid_link_title": "Ce lien de connexion n’est pas valide",
  "connect_link.lead": "pour connecter {app}",
  "connect_link.sign_in_again": "Reconnectez-vous pour connecter {app}.",
  "connect_link.other_account": "Ce lien a été créé pour un autre compte. Connectez-vous avec ce compte.",
  "connect_link.password_off": "La connexion par mot de passe est désactivée ici.",
  "connect_link.needs_attention":
    "Votre compte demande d’abord votre attention : connectez-vous à l’application, puis rouvrez ce lien.",
  "connect_link.failed_title": "Cette connexion n’a pas pu aboutir",

  "sign_up.title": "Créer votre compte",
  "sign_up.given_name": "Prénom",
  "sign_up.family_name": "Nom",
  "sign_up.passwordless_hint":
    "Nous vous enverrons par e-mail un code à 6 chiffres pour confirmer l’adresse, sans mot de passe.",
  "sign_up.submit": "Créer le compte",
  "sign_up.have_account": "Vous avez déjà un compte ?",
  "sign_up.sign_in": "Connectez-vous",
  "sign_up.passwords_off":
    "Les mots de passe sont désactivés ici. Créez votre compte sans mot de passe : nous vous enverrons plutôt un code par e-mail.",
  "sign_up.org_closed":
    "Cette organisation n’accepte pas de nouveaux comptes. Demandez à son administrateur de vous ajouter.",
  "sign_up.org_suspended": "Cette organisation est suspendue et n’accepte pas de nouveaux comptes.",
  "sign_up.not_created":
    "Nous n’avons pas pu créer de compte avec ces informations. Si vous avez déjà un compte, connectez-vous.",

  "email_code.title": "Consultez vos e-mails",
  "email_code.sent_to":
    "Nous avons envoyé un code à 6 chiffres à {email}. Saisissez-le pour continuer vers {app}.",
  "email_code.sent_if_account":
    "Si un compte utilise {email}, nous lui avons envoyé un code à 6 chiffres. Saisissez-le pour continuer.",
  "email_code.valid_for":
    "Le code est valable {duration}. S’il n’est pas arrivé, regardez dans vos courriers indésirables.",
  "email_code.resend": "Envoyer un nouveau code",
  "email_code.resent": "Nous vous avons envoyé un nouveau code.",
  "email_code.sign_in_title": "Se connecter avec un code",
  "email_code.sign_in_lead":
    "Nous vous enverrons par e-mail un code à 6 chiffres pour vous connecter, sans mot de passe.",
  "email_code.reset_title": "Réinitialiser votre mot de passe",
  "email_code.reset_lead":
    "Nous vous enverrons par e-mail un code à 6 chiffres pour choisir un nouveau mot de passe.",
  "email_code.email_me": "M’envoyer un code",
  "email_code.too_many_wrong": "Trop de codes erronés ont été saisis aujourd’hui pour cette adresse.",
  "email_code.too_many_network": "Trop de codes ont été demandés depuis votre réseau.",
  "email_code.cool_down": "Nous venons de vous envoyer un code.",
  "email_code.hourly_limit":
    "Nous avons envoyé plusieurs codes à cette adresse au cours de la dernière heure.",
  "email_code.wrong.one": "Ce code n’est pas le bon. Il vous reste {count} essai.",
  "email_code.wrong.other": "Ce code n’est pas le bon. Il vous reste {count} essais.",
  "email_code.ask_again": "{why} Vous pourrez demander un autre code dans {wait}.",
  "time.seconds.one": "{count} seconde",
  "time.seconds.other": "{count} secondes",
  "email_code.used": "Ce code ne peut plus être utilisé. Demandez-en un nouveau ci-dessous.",

  "choose_password.title": "Choisir un nouveau mot de passe",
  "choose_password.lead": "Votre compte a besoin d’un nouveau mot de passe avant de continuer vers {app}.",

  "connect.title": "Connecter vos comptes",
  "connect.lead":
    "{app} peut fonctionner avec ces services. Vous pouvez les connecter maintenant ou plus tard.",
  "connect.connect": "Connecter {name}",
  "connect.skip": "Plus tard",

  "logout.confirm_title": "Se déconnecter ?",
  "logout.confirm_lead": "Vous allez vous déconnecter de {business} sur ce navigateur.",
  "logout.sign_out": "Se déconnecter",
  "logout.stay": "Rester connecté",
  "logout.done_title": "Déconnecté",
  "logout.done_heading": "Vous êtes déconnecté",
  "logout.done_message": "Vous pouvez fermer cette fenêtre.",
  "logout.bad_redirect_title": "Impossible de revenir à cette adresse",
  "logout.bad_redirect_message":
    "L’URL de redirection après déconnexion n’est enregistrée pour aucune application.",
  "logout.expired_title": "Cette page a expiré",
  "logout.expired_message":
    "Vous êtes toujours connecté. Revenez à l’application et déconnectez-vous de nouveau.",

  "mfa.title": "Validation en deux étapes",
  "mfa.lead": "Confirmez votre identité pour continuer vers {app}.",
  "mfa.app_code": "Code de votre application d’authentification",
  "mfa.app_code_hint": "Le code à 6 chiffres que votre application affiche en ce moment pour ce compte.",
  "mfa.sms_code": "Code reçu par SMS",
  "mfa.sms_code_hint": "Nous avons envoyé un code à 6 chiffres à votre téléphone {phone}.",
  "mfa.email_code": "Code reçu par e-mail",
  "mfa.email_code_hint": "Nous avons envoyé un code à 6 chiffres à {email}.",
  "mfa.your_email_address": "votre adresse e-mail",
  "mfa.your_phone": "votre téléphone",
  "mfa.recovery_code": "Code de récupération",
  "mfa.recovery_code_hint":
    "L’un des codes que vous avez conservés en activant la validation en deux étapes. Chacun ne sert qu’une fois.",
  "mfa.use_passkey": "Utiliser votre clé d’accès",
  "mfa.use_app": "Utiliser votre application d’authentification",
  "mfa.text_me": "Recevoir plutôt un code par SMS",
  "mfa.email_me": "Recevoir plutôt un code par e-mail",
  "mfa.use_recovery": "Utiliser un code de récupération",
  "mfa.choose_a_way": "Choisissez l’une des méthodes ci-dessous.",
  "mfa.email_other_address": "Ce code a été envoyé à une autre adresse. Demandez-en un nouveau.",
  "mfa.sms_other_number": "Ce code a été envoyé à un autre numéro. Demandez-en un nouveau.",
  "mfa.enroll_title": "Activer la validation en deux étapes",
  "mfa.enroll_optional":
    "Protégez votre compte avec un code d’une application d’authentification à chaque connexion à {app}.",
  "mfa.enroll_required":
    "{app} demande une seconde étape à la connexion. Configurez une application d’authentification pour continuer.",
  "mfa.enroll_step_open":
    "Ouvrez une application d’authentification (par exemple Google Authenticator, Microsoft Authenticator, 1Password ou Authy) et ajoutez un compte.",
  "mfa.enroll_step_scan": "Scannez ce code QR, ou saisissez la clé ci-dessous.",
  "mfa.qr_label": "Code QR pour votre application d’authentification",
  "mfa.key": "Clé :",
  "mfa.enroll_code": "Code de l’application",
  "mfa.enroll_code_hint": "Saisissez le code à 6 chiffres affiché par l’application pour terminer.",
  "mfa.turn_on": "Activer la validation en deux étapes",
  "mfa.no_app": "Pas d’application d’authentification ?",
  "mfa.mobile_number": "Numéro de mobile",
  "mfa.mobile_hint":
    "Avec l’indicatif du pays, par exemple +33 6 12 34 56 78. Nous y enverrons un code par SMS à chaque connexion.",
  "mfa.not_now": "Pas maintenant",
  "mfa.invalid_number":
    "Saisissez un numéro de mobile avec l’indicatif du pays, par exemple +33 6 12 34 56 78.",
  "mfa.recovery_title": "Conservez vos codes de récupération",
  "mfa.recovery_lead":
    "La validation en deux étapes est activée. Si vous perdez votre téléphone, chacun de ces codes vous permet de vous connecter une fois. Gardez-les en lieu sûr : ils ne sont affichés qu’une seule fois.",
  "mfa.recovery_saved": "Je les ai conservés — continuer",
  "mfa.sms_confirm_title": "Confirmez votre numéro de mobile",
  "mfa.sms_confirm_lead":
    "Nous avons envoyé un code à 6 chiffres au {phone}. Saisissez-le pour activer la validation en deux étapes.",
  "mfa.sms_valid": "Le code est valable 10 minutes.",

  "passkey.use": "Utiliser une clé d’accès",
  "passkey.second_factor_hint":
    "Utilisez la clé d’accès enregistrée sur cet appareil, sur un téléphone ou sur une clé de sécurité.",
  "passkey.name": "Nom de cette clé d’accès",
  "passkey.name_placeholder": "Par exemple : Ordinateur du bureau",
  "passkey.name_hint": "Pour distinguer vos clés d’accès plus tard.",
  "passkey.enroll_title": "Créer une clé d’accès",
  "passkey.enroll_lead":
    "{app} vous demande désormais de vous connecter avec une clé d’accès. Créez-en une sur cet appareil : votre empreinte, votre visage ou le verrouillage de l’écran la déverrouilleront.",
  "passkey.create": "Créer une clé d’accès",
  "account_passkeys.title": "Clés d’accès",
  "account_passkeys.lead":
    "Connectez-vous avec votre empreinte, votre visage ou le verrouillage de l’écran plutôt qu’avec un mot de passe. Supprimer une clé d’accès vous déconnecte de tous vos autres appareils.",
  "account_passkeys.none": "Vous n’avez pas encore de clé d’accès.",
  "account_passkeys.synced": "Clé d’accès synchronisée",
  "account_passkeys.device_bound": "Clé d’accès liée à cet appareil",
  "account_passkeys.details": "{kind} · Créée le {created} · Dernière utilisation : {used}",
  "account_passkeys.never": "jamais",
  "account_passkeys.new_name": "Nouveau nom",
  "account_passkeys.rename": "Renommer",
  "account_passkeys.remove": "Supprimer « {name} »",
  "account_passkeys.add": "Ajouter une clé d’accès",
  "account_passkeys.off": "Les clés d’accès sont désactivées ici.",
  "account_passkeys.back": "Retour à votre compte",
  "account_passkeys.added": "Votre clé d’accès est enregistrée.",
  "account_passkeys.renamed": "La clé d’accès est renommée.",
  "account_passkeys.removed": "La clé d’accès est supprimée, et vous êtes déconnecté partout ailleurs.",
  "account_passkeys.name_needed": "Donnez un nom à la clé d’accès.",
  "account_passkeys.gone": "Cette clé d’accès a déjà été supprimée.",

  "dashboard.no_sign_up_title": "Le tableau de bord n’accepte pas d’inscriptions",
  "dashboard.who_makes_admins":
    "La personne qui gère ce serveur Latchkey peut faire de vous un administrateur : « latchkey admins create », ou « latchkey admins grant --email <adresse> » pour un compte que vous avez déjà.",
  "dashboard.only_admins":
    "Seuls les administrateurs se connectent au tableau de bord, avec un compte qu’ils ont déjà. {who}",
  "dashboard.no_account":
    "Vous n’avez pas de compte ici, et la connexion au tableau de bord n’en crée aucun. {who}",
};
