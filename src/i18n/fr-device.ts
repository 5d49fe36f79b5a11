// Les pages de validation d’appareil (RFC 8628 §3.3 : /device) en français, partie de fr.ts.
import type { enDevice } from "./en-device.js";

export const frDevice: { readonly [K in keyof typeof enDevice]: string } = {
  "device.entry_title": "Connecter un appareil",
  "device.entry_lead": "Saisissez le code affiché sur votre appareil.",
  "device.code_hint": "Huit lettres, comme BCDF-GHJK.",
  "device.signed_in_as": "Connecté en tant que {email}.",
  "device.confirm_title": "Vous connecter sur votre appareil ?",
  "device.confirm_lead": "{app} demande à vous connecter sur l’appareil qui affiche le code {code}.",
  "device.able_to": "Elle pourra :",
  "device.audiences": "Elle demande l’accès à : {audiences}.",
  "device.warning":
    "Ne continuez que si vous avez commencé cette démarche sur un appareil que vous avez devant vous. Personne chez {business} ne vous demandera jamais ce code.",
  "device.approve": "Autoriser",
  "device.deny": "Refuser",
  "device.approved_title": "Votre appareil est connecté",
  "device.approved_lead": "{app} vous connecte sur votre appareil. Vous pouvez fermer cette page.",
  "device.denied_title": "Demande refusée",
  "device.denied_lead": "La connexion à {app} a été refusée. Vous pouvez fermer cette page.",
  "device.again_title": "Reconnectez-vous",
  "device.again_lead":
    "Pour vous connecter à {app} sur votre appareil, confirmez encore une fois votre identité.",
  "device.sign_in": "Se connecter",
  "device.scope_openid": "Savoir qui vous êtes",
  "device.scope_profile": "Voir votre nom et votre photo",
  "device.scope_email": "Voir votre adresse e-mail",
  "device.scope_offline": "Garder l’accès (le renouveler sans vous le demander)",
  "device.scope_other": "Utiliser {scope}",
  "device.unavailable_title": "Connexion d’appareil indisponible",
  "device.unavailable_message":
    "La connexion sur cette page nécessite ISSUER_URL en https (ou http sur localhost).",
  "device.expired_title": "Ce formulaire a expiré",
  "device.expired_message": "Rouvrez la page et saisissez le code une nouvelle fois.",
  "device.choose_title": "Choisissez Autoriser ou Refuser",
  "device.too_many": "Trop de codes saisis. Réessayez dans {wait}.",
  "device.not_found":
    "Ce code n’est pas valide, ou il a expiré ou déjà servi. Vérifiez le code sur votre appareil.",
  "device.refused_title": "Vous ne pouvez pas vous connecter ici",
  "device.org_suspended": "Votre organisation est suspendue.",
  "device.no_org": "Votre compte n’est membre d’aucune organisation à laquelle vous pouvez vous connecter.",
  "device.incomplete_title": "La connexion n’a pas abouti",
} as const;
