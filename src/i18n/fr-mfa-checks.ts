// Pourquoi un code de vérification en deux étapes est refusé (en-mfa-checks.ts), en français.
import type { enMfaChecks } from "./en-mfa-checks.js";

export const frMfaChecks: { readonly [K in keyof typeof enMfaChecks]: string } = {
  "mfa_check.setup_expired": "Cette configuration a expiré. Recommencez.",
  "mfa_check.app_code_wrong":
    "Ce code n’est pas le bon. Vérifiez que l’horloge de l’application est à l’heure et saisissez le code actuel.",
  "mfa_check.no_app": "Ce compte n’a pas d’application d’authentification.",
  "mfa_check.app_code_wrong_or_used": "Ce code n’est pas le bon, ou il a déjà servi. Attendez le suivant.",
  "mfa_check.sms_too_many": "Trop de SMS ont été envoyés. Réessayez plus tard ou choisissez un autre moyen.",
  "mfa_check.sms_not_sent": "Le SMS n’a pas pu être envoyé. Réessayez, ou choisissez un autre moyen.",
  "mfa_check.sms_expired": "Ce code a expiré. Demandez-en un nouveau.",
  "mfa_check.sms_wrong": "Ce code n’est pas le bon.",
  "mfa_check.recovery_wrong": "Ce code de récupération n’est pas le bon, ou il a déjà servi.",
  "mfa_check.too_many_codes": "Trop de codes erronés. Réessayez dans {wait}.",
};
